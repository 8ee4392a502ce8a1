import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import * as tar from "tar";
import { mirror, versionSlug } from "./debian-sid.js";
import { runChecked } from "./process.js";

/**
 * The sabuild/llama.cpp image: Debian sid with llama.cpp-tools (llama-quantize, llama-server),
 * pinned to the versions the host converter came from. Its base, debian:sid-slim, is pulled when
 * a registry is reachable and debootstrapped otherwise.
 */

export const SID_BASE = "debian:sid-slim";

type Log = (line: string) => void;

export function toolsImageTag(versions: Record<string, string>): string {
  return `sabuild/llama.cpp:${versionSlug(versions["llama.cpp-tools"] ?? "unknown")}`;
}

export function toolsDockerfile(versions: Record<string, string>): string {
  const pins = ["llama.cpp-tools", "libllama0", "libggml0"].map((p) => `${p}=${versions[p]}`).join(" ");
  const apt = "apt-get -o Acquire::Check-Valid-Until=false";
  return [
    `FROM ${SID_BASE}`,
    `RUN ${apt} update \\`,
    ` && DEBIAN_FRONTEND=noninteractive ${apt} install -y --no-install-recommends ${pins} \\`,
    " && rm -rf /var/lib/apt/lists/*",
    `LABEL org.sabuild.llama-cpp-tools="${versions["llama.cpp-tools"]}"`,
    "",
  ].join("\n");
}

export async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch {
    return undefined;
  }
}

function follow(docker: Docker, stream: NodeJS.ReadableStream, log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = error?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new Error(failed));
        else resolve();
      },
      (event: { stream?: string; status?: string }) => {
        const text = (event.stream ?? event.status ?? "").trimEnd();
        for (const line of text.split("\n")) if (line.trim()) log(line);
      },
    );
  });
}

async function tryPull(docker: Docker, ref: string, log: Log): Promise<boolean> {
  try {
    await follow(docker, await docker.pull(ref), () => {});
    log(`llama.cpp: pulled ${ref}`);
    return true;
  } catch {
    return false;
  }
}

/** debootstrap a minimal sid and import it as debian:sid-slim (~1 min, needs root and debootstrap). */
async function debootstrapSid(docker: Docker, log: Log, signal?: AbortSignal): Promise<void> {
  const debootstrap = ["/usr/sbin/debootstrap", "/usr/bin/debootstrap"].find((p) => existsSync(p));
  if (!debootstrap || process.getuid?.() !== 0) {
    throw new Error(
      `no ${SID_BASE} image: it cannot be pulled (no registry reachable) and building it needs ${debootstrap ? "root" : "debootstrap (apt-get install debootstrap)"}; ` +
        `make one (debootstrap --variant=minbase sid DIR && tar -C DIR -c . | docker import - ${SID_BASE}), or set export.tools.image to an image with llama-quantize and llama-server`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "sabuild-sid-"));
  try {
    log(`llama.cpp: debootstrapping Debian sid for ${SID_BASE} (about a minute)`);
    await runChecked("debootstrap sid", debootstrap, ["--variant=minbase", "--include=ca-certificates", "sid", dir, mirror()], { log, signal });
    log(`llama.cpp: importing ${SID_BASE}`);
    const tarProc = spawn("tar", ["-C", dir, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const [repo, tag] = SID_BASE.split(":") as [string, string];
    await follow(docker, await docker.importImage(tarProc.stdout as unknown as string, { repo, tag }), () => {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function ensureSidBase(docker: Docker, log: Log, signal?: AbortSignal): Promise<void> {
  if (await imageId(docker, SID_BASE)) return;
  if (await tryPull(docker, SID_BASE, log)) return;
  await debootstrapSid(docker, log, signal);
}

// Two exports in one build (two subagents) share one image build.
const building = new Map<string, Promise<{ tag: string; id: string }>>();

/** The tools image for these versions, built when missing. Returns its tag and image id. */
export function ensureToolsImage(docker: Docker, versions: Record<string, string>, opts: { log?: Log; signal?: AbortSignal } = {}): Promise<{ tag: string; id: string }> {
  const tag = toolsImageTag(versions);
  let pending = building.get(tag);
  if (!pending) {
    pending = buildToolsImage(docker, versions, tag, opts).finally(() => building.delete(tag));
    building.set(tag, pending);
  }
  return pending;
}

async function buildToolsImage(docker: Docker, versions: Record<string, string>, tag: string, opts: { log?: Log; signal?: AbortSignal }): Promise<{ tag: string; id: string }> {
  const log = opts.log ?? (() => {});
  const existing = await imageId(docker, tag);
  if (existing) return { tag, id: existing };
  await ensureSidBase(docker, log, opts.signal);
  log(`llama.cpp: building ${tag}`);
  const context = await mkdtemp(join(tmpdir(), "sabuild-llamacpp-"));
  try {
    await writeFile(join(context, "Dockerfile"), toolsDockerfile(versions));
    const stream = tar.c({ cwd: context, portable: true }, ["Dockerfile"]);
    await follow(docker, await docker.buildImage(stream as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true }), log);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  const id = await imageId(docker, tag);
  if (!id) throw new Error(`building ${tag} reported success but the image is missing`);
  log(`llama.cpp: ${tag} ready`);
  return { tag, id };
}
