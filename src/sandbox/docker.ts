import Docker from "dockerode";
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

async function connect(): Promise<Docker> {
  const docker = new Docker();
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
