import { existsSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type Docker from "dockerode";
import { SandboxError } from "./types.js";

/**
 * One dockerode client per process, checked with a ping that gives up after a few seconds: an
 * engine that is down or a DOCKER_HOST that points nowhere is a clear error, never a hang.
 */

const HINT = "start the Docker engine (dockerd, or `sudo systemctl start docker`), or set DOCKER_HOST to a running one";
const PING_TIMEOUT_MS = 5000;

let client: { host: string; docker: Promise<Docker> } | undefined;

function engineName(): string {
  return process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
}

/**
 * dockerode, with the two parts sabuild never calls loaded on their first call instead of with
 * the package: dockerode's BuildKit session (lib/session.js: @grpc/grpc-js, @grpc/proto-loader
 * and protobufjs) and docker-modem's SSH transport (lib/ssh.js: ssh2 and its crypto), ~150 of
 * dockerode's ~205 modules and ~150 CPU-ms of every process that opens a sandbox (a build, a
 * test, `sabuild serve`). Each is one exported function, so a stand-in function in require's
 * cache (which Node documents as writable) takes its place and requires the real file when
 * called: a BuildKit build or an ssh:// DOCKER_HOST through dockerode works as before.
 */
export async function loadDockerode(): Promise<typeof Docker> {
  deferUnusedParts();
  return (await import("dockerode")).default;
}

let deferred = false;

function deferUnusedParts(): void {
  if (deferred) return;
  deferred = true;
  const require = createRequire(import.meta.url);
  const files: string[] = [];
  try {
    const main = require.resolve("dockerode");
    files.push(join(dirname(main), "session.js"));
    files.push(join(dirname(createRequire(main).resolve("docker-modem")), "ssh.js"));
  } catch {
    // Laid out otherwise: dockerode loads as it comes.
  }
  for (const file of files) {
    // Loaded already (another caller imported dockerode first), or not where this version keeps it.
    if (require.cache[file] || !existsSync(file)) continue;
    const standIn = new Module(file);
    standIn.filename = file;
    standIn.loaded = true;
    let real: ((...args: unknown[]) => unknown) | undefined;
    standIn.exports = function (this: unknown, ...args: unknown[]): unknown {
      if (!real) {
        delete require.cache[file];
        real = require(file) as (...args: unknown[]) => unknown;
      }
      return real.apply(this, args);
    };
    require.cache[file] = standIn;
  }
}

async function connect(): Promise<Docker> {
  const docker = new (await loadDockerode())();
  try {
    await (docker.ping as (opts: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) });
  } catch (e) {
    const why = e instanceof Error && e.name === "AbortError" ? `no answer within ${PING_TIMEOUT_MS / 1000} s` : e instanceof Error ? e.message : String(e);
    throw new SandboxError(`cannot reach the Docker engine at ${engineName()}: ${why}`, HINT);
  }
  return docker;
}

/** A connected client; the failed attempt is forgotten so a later call tries again. */
export function dockerClient(): Promise<Docker> {
  const host = engineName();
  if (client?.host === host) return client.docker;
  const docker = connect();
  client = { host, docker };
  docker.catch(() => {
    if (client?.docker === docker) client = undefined;
  });
  return docker;
}

/** Turns an engine error (connection refused, 404 container gone) into a SandboxError. */
export function engineError(what: string, e: unknown): SandboxError {
  if (e instanceof SandboxError) return e;
  const err = e as { statusCode?: number; code?: string; message?: string; json?: { message?: string } };
  const detail = err.json?.message ?? err.message ?? String(e);
  if (err.code === "ECONNREFUSED" || err.code === "ENOENT" || err.code === "EACCES") {
    return new SandboxError(`${what}: cannot reach the Docker engine at ${engineName()} (${detail})`, HINT);
  }
  return new SandboxError(`${what}: ${detail.trim()}`);
}

export function isNotFound(e: unknown): boolean {
  return (e as { statusCode?: number }).statusCode === 404;
}
