import type { TaskEnv } from "../envs/types.js";

/**
 * The contract between the sandbox (a Docker container per rollout) and everything that runs
 * commands in it: the agent tools, the rollout loop, eval and the MCP server.
 */

/** Limits applied to one container; the recipe manifest gives defaults, subagents.yaml overrides. */
export interface SandboxLimits {
  /** Bytes of memory (e.g. 2 GiB = 2 * 1024 ** 3). */
  memoryBytes: number;
  cpus: number;
  pids: number;
  /** "none" (default) or "bridge" when the recipe opts in. */
  network: "none" | "bridge";
  /** Per-command wall-clock limit. */
  commandTimeoutMs: number;
  /** stdout+stderr past this many bytes are cut, with a visible marker. */
  outputLimitBytes: number;
}

/** What the `sandbox` stage writes as `image.json`: downstream keys include the digest. */
export interface SandboxImage {
  recipe: string;
  /** Docker image id (sha256:...), the content digest of the built image. */
  id: string;
  /** Local tag, e.g. sabuild/python-repo:<context digest prefix>. */
  tag: string;
  /** sha256 of the recipe's build context (Dockerfile, files, workspace seed, manifest). */
  contextDigest: string;
  baseImage: string;
  /** Where the workspace lives inside the container (the tools' working directory). */
  workdir: string;
  /** Non-root user the container runs as. */
  user: string;
  /** Default tools from the recipe manifest (canonical names). */
  tools: string[];
  limits: SandboxLimits;
  /**
   * Set for a task's own environment (not the subagent's recipe): what it was built from, so
   * the image can be built again where it is missing (src/sandbox/env-image.ts).
   */
  env?: { id: string; spec: TaskEnv; commit?: string };
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, then closed. */
  stdin?: string | Buffer;
  /** Overrides the session's per-command timeout. */
  timeoutMs?: number;
  /** Working directory inside the container (default: the image's workdir). */
  cwd?: string;
  env?: Record<string, string>;
  /**
   * Runs as this user instead of the image's (e.g. "0" to copy a verifier's files under /tests).
   * Even root keeps no capabilities here: it writes only what root owns.
   */
  user?: string;
  /** Overrides the session's output limit (Read of a large file asks for more, say). */
  outputLimitBytes?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  /** null when the command was killed (timeout, OOM, abort). */
  exitCode: number | null;
  /** Decoded as UTF-8 (invalid bytes replaced); already cut to the limit, marker included. */
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was cut. */
  truncated: boolean;
  timedOut: boolean;
  /** The container was OOM-killed during this command. */
  oomKilled: boolean;
  durationMs: number;
}

export interface SpawnOptions {
  /** Working directory inside the container (default: the image's workdir). */
  cwd?: string;
  env?: Record<string, string>;
  /** Runs as this user instead of the image's. */
  user?: string;
}

/**
 * A process started with spawn(): its standard streams stay attached while it runs (an MCP
 * server spoken to over stdio). Its stdout and stderr end when it exits.
 */
export interface SandboxProcess {
  /** Ending it closes the process's stdin. */
  readonly stdin: NodeJS.WritableStream;
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** The exit status once it ended; null when it was killed or its container removed. */
  readonly exited: Promise<number | null>;
  /** Kills it and every process it started; resolves once it has ended. */
  kill(): Promise<void>;
}

/** One running container. Every rollout gets a fresh one and closes it, also on failure. */
export interface SandboxSession {
  readonly containerId: string;
  readonly image: SandboxImage;
  /** The limits this container runs under: the image's, with the session's overrides. */
  readonly limits: SandboxLimits;
  /** Runs argv (no shell unless argv says so, e.g. ["bash", "-lc", cmd]). Never throws for a
   * failing command: non-zero exits, timeouts and OOM kills come back in the result. Throws only
   * when the container itself is gone or the engine is unreachable (SandboxError). */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Starts a long-lived process with stdin, stdout and stderr attached: no time limit and no
   * output cap, and it ends at the latest with the container (close() removes it). Throws a
   * SandboxError when the container is gone or the engine unreachable; a command that does not
   * exist starts and exits (127), as with exec.
   */
  spawn(argv: string[], options?: SpawnOptions): Promise<SandboxProcess>;
  /** Removes the container (idempotent). */
  close(): Promise<void>;
}

/** A sandbox-level failure (engine unreachable, image build failed, container gone). */
export class SandboxError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "SandboxError";
  }
}
