import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { createOwnedContainer, ownChild, removeOwned } from "../sandbox/cleanup.js";
import { lineSplitter, runChecked, TailBuffer, ToolError } from "./process.js";

/**
 * How a llama.cpp binary runs: a file on this machine, or a command in a Docker image. Both take
 * host paths: a container gets each of `dirs` bind-mounted at the same path, so arguments need
 * no rewriting.
 */

type Log = (line: string) => void;

export interface RunOptions {
  /** Directories the command reads or writes; every path in the arguments lies under one of them. */
  dirs: string[];
  signal?: AbortSignal;
  log?: Log;
}

export interface Runner {
  /** Where the tool comes from, for logs and export.json: a host path or image:<ref>. */
  readonly where: string;
  /** Runs the tool; throws a ToolError with the output's last lines when it fails. */
  run(args: string[], opts: RunOptions): Promise<void>;
}

export interface ServerOptions {
  /** The GGUF to serve (a host path). */
  model: string;
  /** Extra llama-server arguments, e.g. ["--lora", path] or ["-c", "16384"]. */
  args?: string[];
  /** Directories besides the model's that the arguments name. */
  dirs?: string[];
  signal?: AbortSignal;
  log?: Log;
  /** How long to wait for /health (loading a large model takes a while). Default 300 s. */
  readyTimeoutMs?: number;
}

export interface LlamaServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (OpenAI API under /v1). */
  readonly url: string;
  /** Stops and removes the server; safe to call twice. */
  stop(): Promise<void>;
}

export interface ServerRunner {
  readonly where: string;
  start(opts: ServerOptions): Promise<LlamaServer>;
}

/** Context size when the caller sets none: a model's full context (262k for Qwen3) would take gigabytes of KV cache. */
const DEFAULT_CONTEXT = "8192";

function serverArgs(opts: ServerOptions, host: string, port: number): string[] {
  const args = opts.args ?? [];
  const ctx = args.includes("-c") || args.includes("--ctx-size") ? [] : ["-c", DEFAULT_CONTEXT];
  return ["-m", opts.model, "--host", host, "--port", String(port), "--jinja", ...ctx, ...args];
}

function dirOf(path: string): string {
  return path.slice(0, Math.max(1, path.lastIndexOf("/")));
}

export function hostRunner(binary: string): Runner {
  return {
    where: binary,
    async run(args, opts) {
      await runChecked(binary.split("/").pop()!, binary, args, { signal: opts.signal, log: opts.log });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls /health until it answers 200; `exited` rejects early when the server dies. */
async function waitHealthy(url: string, timeoutMs: number, exited: () => string | undefined, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    signal?.throwIfAborted();
    const gone = exited();
    if (gone !== undefined) throw new Error(gone);
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`llama-server at ${url} was not healthy after ${Math.round(timeoutMs / 1000)} s`);
}

export function hostServerRunner(binary: string): ServerRunner {
  return {
    where: binary,
    async start(opts) {
      const port = await freePort();
      const child = spawn(binary, serverArgs(opts, "127.0.0.1", port), { stdio: ["ignore", "pipe", "pipe"] });
      ownChild(child);
      const tail = new TailBuffer(40);
      const lines = lineSplitter((l) => tail.push(l));
      child.stdout.on("data", (d: Buffer) => lines.write(d));
      child.stderr.on("data", (d: Buffer) => lines.write(d));
      let exit: string | undefined;
      child.on("error", (e) => (exit = `llama-server could not start: ${e.message}`));
      child.on("exit", (code, sig) => (exit ??= `llama-server exited (${code ?? sig}) before it was ready:\n${tail.text()}`));
      const url = `http://127.0.0.1:${port}`;
      const stop = async (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const done = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await done;
        clearTimeout(timer);
      };
      try {
        await waitHealthy(url, opts.readyTimeoutMs ?? 300_000, () => exit, opts.signal);
      } catch (e) {
        await stop();
        throw e;
      }
      opts.log?.(`llama-server ready at ${url} (${binary})`);
      return { url, stop };
    },
  };
}

function uniqueDirs(dirs: string[]): string[] {
  return [...new Set(dirs)].sort();
}

function userSpec(): string | undefined {
  // Files the tool writes into the bind-mounted directories belong to the user, not root.
  return process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : undefined;
}

async function removeQuietly(container: Docker.Container): Promise<void> {
  await removeOwned(container).catch(() => {});
}

export function containerRunner(docker: Docker, image: string, binary: string): Runner {
  return {
    where: `image:${image}`,
    async run(args, opts) {
      const container = await createOwnedContainer(
        docker,
        { Image: image, Entrypoint: [binary], Cmd: args, User: userSpec(), HostConfig: { Binds: uniqueDirs(opts.dirs).map((d) => `${d}:${d}`), NetworkMode: "none" } },
        binary,
      );
      const tail = new TailBuffer();
      const lines = lineSplitter((l) => {
        tail.push(l);
        opts.log?.(l);
      });
      const onAbort = (): void => void container.kill().catch(() => {});
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const stream = await container.attach({ stream: true, stdout: true, stderr: true });
        const sink = new PassThrough();
        sink.on("data", (d: Buffer) => lines.write(d));
        docker.modem.demuxStream(stream, sink, sink);
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        await new Promise((r) => setTimeout(r, 50));
        lines.end();
        opts.signal?.throwIfAborted();
        if (StatusCode !== 0) throw new ToolError(`${binary} failed in ${image} (exit ${StatusCode})`, tail.text());
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
        await removeQuietly(container);
      }
    },
  };
}

export function containerServerRunner(docker: Docker, image: string, binary = "llama-server"): ServerRunner {
  return {
    where: `image:${image}`,
    async start(opts) {
      const dirs = uniqueDirs([dirOf(opts.model), ...(opts.dirs ?? [])]);
      const spec: Docker.ContainerCreateOptions = {
        Image: image,
        Entrypoint: [binary],
        Cmd: serverArgs(opts, "0.0.0.0", 8080),
        User: userSpec(),
        ExposedPorts: { "8080/tcp": {} },
        HostConfig: {
          Binds: dirs.map((d) => `${d}:${d}:ro`),
          PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
        },
      };
      const container = await createOwnedContainer(docker, spec, binary);
      const stop = (): Promise<void> => removeQuietly(container);
      const tail = new TailBuffer(40);
      try {
        const stream = await container.attach({ stream: true, stdout: true, stderr: true });
        const lines = lineSplitter((l) => tail.push(l));
        const sink = new PassThrough();
        sink.on("data", (d: Buffer) => lines.write(d));
        docker.modem.demuxStream(stream, sink, sink);
        await container.start();
        const info = await container.inspect();
        const port = info.NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort;
        if (!port) throw new Error(`docker published no port for llama-server in ${image}`);
        const url = `http://127.0.0.1:${port}`;
        let exited: string | undefined;
        void container.wait().then(() => (exited = `llama-server exited before it was ready:\n${tail.text()}`)).catch(() => {});
        await waitHealthy(url, opts.readyTimeoutMs ?? 300_000, () => exited, opts.signal);
        opts.log?.(`llama-server ready at ${url} (${image})`);
        return { url, stop };
      } catch (e) {
        await stop();
        throw e;
      }
    },
  };
}
