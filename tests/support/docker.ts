import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, openSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The sandbox tests need a real Docker engine and the base image. This makes them present the
 * way TOOLCHAIN.md does on a bare Debian machine: start dockerd when it is installed but not
 * running, and make debian:bookworm-slim with debootstrap when no registry can be reached.
 * bin/test (sabuild_ensure_test_tools) installs docker.io and debootstrap beforehand.
 */

export const BASE_IMAGE = "debian:bookworm-slim";

function docker(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync("docker", args, { encoding: "utf8", input, timeout: 60_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function engineUp(): boolean {
  return docker(["info", "--format", "{{.ServerVersion}}"]).ok;
}

function has(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).status === 0;
}

async function startEngine(): Promise<void> {
  if (!has("docker")) throw new Error("Docker is not installed: bin/test installs it (apt-get install docker.io); the sandbox tests need a real engine");
  if (!has("dockerd")) throw new Error("the Docker engine is not running and dockerd is not installed here: start Docker, or set DOCKER_HOST");
  const log = openSync(join(tmpdir(), "sabuild-dockerd.log"), "a");
  spawn("dockerd", [], { detached: true, stdio: ["ignore", log, log] }).unref();
  const until = Date.now() + 60_000;
  while (!engineUp()) {
    if (Date.now() > until) throw new Error(`dockerd did not come up within 60 s (see ${join(tmpdir(), "sabuild-dockerd.log")})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function importBaseImage(): void {
  if (!has("debootstrap")) throw new Error(`${BASE_IMAGE} is missing and debootstrap is not installed: apt-get install debootstrap, or docker pull ${BASE_IMAGE}`);
  const root = mkdtempSync(join(tmpdir(), "sabuild-rootfs-"));
  try {
    const boot = spawnSync("debootstrap", ["--variant=minbase", "bookworm", root, "http://deb.debian.org/debian"], { encoding: "utf8", timeout: 600_000 });
    if (boot.status !== 0) throw new Error(`debootstrap failed: ${boot.stderr.slice(-2000)}`);
    const imported = spawnSync("sh", ["-c", `tar -C "$1" -c . | docker import - "$2"`, "sh", root, BASE_IMAGE], { encoding: "utf8", timeout: 600_000 });
    if (imported.status !== 0) throw new Error(`docker import failed: ${imported.stderr}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A running engine with the base image, or an error that says what to install. */
export async function ensureDocker(): Promise<void> {
  if (!engineUp()) {
    if (process.env.DOCKER_HOST) throw new Error(`the Docker engine at DOCKER_HOST=${process.env.DOCKER_HOST} does not answer`);
    await startEngine();
  }
  if (!docker(["image", "inspect", BASE_IMAGE]).ok && !docker(["pull", BASE_IMAGE]).ok) importBaseImage();
}

/** Whether a container exists (running or not). */
export function containerExists(id: string): boolean {
  return docker(["container", "inspect", id]).ok;
}

/** Containers of a test project that are still there (running or not), by its project label. */
export function projectContainers(dir: string): string[] {
  const label = `sabuild.project=${createHash("sha256").update(realpathSync(dir)).digest("hex").slice(0, 12)}`;
  const r = spawnSync("docker", ["ps", "-aq", "--filter", `label=${label}`], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean);
}

export function removeImage(ref: string): void {
  docker(["image", "rm", "-f", ref]);
}

export { docker as dockerCli };

/**
 * Builds the shipped recipes' images before any test file runs (minutes on a fresh machine,
 * a tag lookup afterwards): every `sabuild build` of a test project runs the sandbox stage, and
 * no single test should pay for the first apt-get. Without an engine this only warns; the tests
 * that need one then fail with their own message.
 */
export async function prepareSandboxImages(): Promise<void> {
  try {
    await ensureDocker();
  } catch (e) {
    process.stderr.write(`warning: no Docker engine for the sandbox tests: ${(e as Error).message}\n`);
    return;
  }
  const { buildRecipeImage, knownRecipes } = await import("../../src/sandbox/index.js");
  for (const recipe of knownRecipes()) {
    const started = Date.now();
    const image = await buildRecipeImage({ recipe });
    const seconds = (Date.now() - started) / 1000;
    if (seconds > 2) process.stderr.write(`built the sandbox image ${image.tag} in ${seconds.toFixed(0)} s\n`);
  }
}
