import type Docker from "dockerode";
import { createOwnedContainer, LABEL_RECIPE, removeOwned } from "./cleanup.js";
import { dockerClient, engineError, isNotFound } from "./docker.js";
import { runExec } from "./exec.js";
import { spawnExec } from "./spawn.js";
import { mergeLimits } from "./limits.js";
import { OomWatch } from "./oom.js";
import { SandboxError, type ExecOptions, type ExecResult, type SandboxImage, type SandboxLimits, type SandboxProcess, type SandboxSession, type SpawnOptions } from "./types.js";

export interface OpenSandboxOptions {
  /** Overrides the image's limits (which are the recipe's, with subagents.yaml's overrides). */
  limits?: Partial<SandboxLimits>;
  /** Extra container labels, e.g. projectLabels(root). */
  labels?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Runs in the new container before the session is handed over (installing a skill, say);
   * when it fails, the container is removed and its error thrown.
   */
  prepare?: (session: SandboxSession) => Promise<void>;
  /**
   * Host paths bound into the container (a CLI orchestrator's runtime, the unix sockets it
   * reaches its model and sabuild's MCP server through). The network stays as the limits say.
   */
  mounts?: { source: string; target: string; readOnly: boolean }[];
}

/**
 * Starts a fresh container on the image: no network unless the image's limits say "bridge",
 * the recipe's non-root user, every capability dropped, no-new-privileges, memory (without
 * swap), CPU and pid limits, and an init process that idles until close(). The container
 * carries the owner labels (see cleanup.ts), so it never outlives this process.
 */
export async function openSandbox(image: SandboxImage, options: OpenSandboxOptions = {}): Promise<SandboxSession> {
  options.signal?.throwIfAborted();
  const docker = await dockerClient();
  const limits = mergeLimits(image.limits, options.limits);
  const spec: Docker.ContainerCreateOptions = {
    Image: image.id,
    Cmd: ["sleep", "infinity"],
    User: image.user,
    WorkingDir: image.workdir,
    Labels: { [LABEL_RECIPE]: image.recipe, ...options.labels },
    NetworkDisabled: limits.network === "none",
    HostConfig: {
      NetworkMode: limits.network,
      Init: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      ...(options.mounts?.length ? { Binds: options.mounts.map((m) => `${m.source}:${m.target}:${m.readOnly ? "ro" : "rw"}`) } : {}),
    },
  };
  let container: Docker.Container;
  try {
    container = await createOwnedContainer(docker, spec, "sandbox");
  } catch (e) {
    if (isNotFound(e)) {
      throw new SandboxError(`the sandbox image ${image.tag} (${image.id.slice(0, 19)}) is not in the Docker engine`, "call ensureImage(image) first: it rebuilds the image from its recipe");
    }
    throw engineError("cannot create the sandbox container", e);
  }
  const session = new DockerSandboxSession(container, image, limits, await OomWatch.start(docker, container.id));
  try {
    options.signal?.throwIfAborted();
    await container.start();
  } catch (e) {
    await session.close();
    if (options.signal?.aborted) throw options.signal.reason;
    throw engineError("cannot start the sandbox container", e);
  }
  if (options.prepare) {
    try {
      await options.prepare(session);
    } catch (e) {
      await session.close();
      throw e;
    }
  }
  return session;
}

class DockerSandboxSession implements SandboxSession {
  readonly containerId: string;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly container: Docker.Container,
    readonly image: SandboxImage,
    readonly limits: SandboxLimits,
    private readonly oom: OomWatch,
  ) {
    this.containerId = container.id;
  }

  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new TypeError("exec needs a command");
    if (this.closing) throw new SandboxError("the sandbox session is closed");
    return runExec(this.container, {
      argv,
      user: options.user ?? this.image.user,
      workdir: options.cwd ?? this.image.workdir,
      ...(options.env ? { env: options.env } : {}),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      timeoutMs: options.timeoutMs ?? this.limits.commandTimeoutMs,
      outputLimitBytes: options.outputLimitBytes ?? this.limits.outputLimitBytes,
      ...(options.signal ? { signal: options.signal } : {}),
      oomKilled: (sigkill) => this.oom.killedSinceLastAsk(sigkill, () => this.cgroupOomKills()),
    });
  }

  async spawn(argv: string[], options: SpawnOptions = {}): Promise<SandboxProcess> {
    if (argv.length === 0) throw new TypeError("spawn needs a command");
    if (this.closing) throw new SandboxError("the sandbox session is closed");
    return spawnExec(this.container, { argv, user: options.user ?? this.image.user, workdir: options.cwd ?? this.image.workdir, ...(options.env ? { env: options.env } : {}) });
  }

  /** The memory cgroup's count of OOM kills (cgroup v2: memory.events, v1: memory.oom_control). */
  private async cgroupOomKills(): Promise<number> {
    const r = await runExec(this.container, {
      argv: ["cat", "/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"],
      user: this.image.user,
      workdir: "/",
      timeoutMs: 5000,
      outputLimitBytes: 4096,
    });
    return Math.max(0, ...[...r.stdout.matchAll(/^oom_kill (\d+)$/gm)].map((m) => Number(m[1])));
  }

  close(): Promise<void> {
    this.closing ??= removeOwned(this.container)
      .catch((e: unknown) => {
        throw engineError("cannot remove the sandbox container", e);
      })
      .finally(() => this.oom.stop());
    return this.closing;
  }
}
