import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import { engineError } from "./docker.js";
import { capture, renderOutputs, type StreamCapture } from "./output.js";
import type { ExecResult } from "./types.js";

/**
 * One command in a running container. The command runs under coreutils `timeout -s KILL`,
 * which puts it in its own process group and kills the whole group when time is up, so the
 * limit holds inside the container even if sabuild itself dies. Every process of a command
 * carries SABUILD_EXEC=<id> in its environment: an abort (or a command whose daemonised child
 * keeps the output open past the limit) kills by that mark, which even setsid cannot shed.
 */

export interface ExecRequest {
  argv: string[];
  user: string;
  workdir: string;
  env?: Record<string, string>;
  stdin?: string | Buffer;
  timeoutMs: number;
  outputLimitBytes: number;
  signal?: AbortSignal;
  /** Asked after every command: did the OOM killer strike since the last ask? */
  oomKilled?: (sigkill: boolean) => Promise<boolean>;
}

/** After the in-container timeout, how long to wait for the streams before killing by mark. */
const BACKSTOP_MS = 1500;

const WRAPPER = 'id=$1; t=$2; shift 2; SABUILD_EXEC=$id; export SABUILD_EXEC; exec timeout -s KILL "$t" "$@"';
const KILLER = 'for p in /proc/[0-9]*; do if tr "\\0" "\\n" <"$p/environ" 2>/dev/null | grep -qx "SABUILD_EXEC=$1"; then kill -KILL "${p#/proc/}" 2>/dev/null; fi; done; true';

/** Splits Docker's multiplexed attach stream (8-byte frame headers) into stdout and stderr. */
export class Demuxer {
  private pending = Buffer.alloc(0);
  constructor(private readonly sinks: Record<number, Pick<StreamCapture, "push">>) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      this.sinks[buf[0]!]?.push(buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
    this.pending = Buffer.from(buf);
  }
}

export async function runExec(container: Docker.Container, req: ExecRequest): Promise<ExecResult> {
  req.signal?.throwIfAborted();
  const mark = randomBytes(6).toString("hex");
  const seconds = (Math.max(1, req.timeoutMs) / 1000).toFixed(3);
  const started = performance.now();
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({
      Cmd: ["/bin/sh", "-c", WRAPPER, "sh", mark, seconds, ...req.argv],
      AttachStdin: req.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: req.user,
      WorkingDir: req.workdir,
      Env: Object.entries(req.env ?? {}).map(([k, v]) => `${k}=${v}`),
    });
    stream = (await exec.start({ hijack: true, stdin: req.stdin !== undefined })) as Duplex;
  } catch (e) {
    throw engineError("cannot run a command in the sandbox", e);
  }

  const out = capture(req.outputLimitBytes);
  const err = capture(req.outputLimitBytes);
  const demux = new Demuxer({ 1: out, 2: err });
  let killedByUs = false;
  let abortRequested = false;
  const killByMark = async (): Promise<void> => {
    killedByUs = true;
    await killMarked(container, req.user, mark);
  };

  const aborted = await new Promise<boolean>((resolve, reject) => {
    let settled = false;
    const finish = (value: boolean, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      req.signal?.removeEventListener("abort", onAbort);
      if (error !== undefined) reject(engineError("the sandbox command's stream failed", error));
      else resolve(value);
    };
    const backstop = setTimeout(() => void killByMark().then(() => (stream.destroy(), finish(false))), req.timeoutMs + BACKSTOP_MS);
    const onAbort = (): void => {
      abortRequested = true;
      void killByMark().then(() => (stream.destroy(), finish(true)));
    };
    req.signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("data", (chunk: Buffer) => demux.push(chunk));
    stream.once("end", () => finish(false));
    stream.once("close", () => finish(false));
    stream.once("error", (e) => finish(false, e));
    if (req.stdin !== undefined) stream.end(req.stdin);
  });
  // The kill can end the stream before the killer's own exec returns: the flag is what counts.
  if (aborted || abortRequested) throw req.signal!.reason ?? new Error("aborted");

  const durationMs = Math.round(performance.now() - started);
  const exitCode = killedByUs ? null : await exitCodeOf(exec);
  const rendered = renderOutputs(out, err, req.outputLimitBytes);
  // 137 is SIGKILL: from the OOM killer, from `timeout`, or from the command itself.
  const sigkill = exitCode === null || exitCode === 137;
  const oomKilled = req.oomKilled ? await req.oomKilled(sigkill) : false;
  const timedOut = !oomKilled && (killedByUs || (exitCode === 137 && durationMs >= req.timeoutMs - 50));
  return {
    exitCode: (oomKilled && sigkill) || timedOut ? null : exitCode,
    ...rendered,
    timedOut,
    oomKilled,
    durationMs,
  };
}

/** Kills every process of the container that carries SABUILD_EXEC=<mark>. */
export async function killMarked(container: Docker.Container, user: string, mark: string): Promise<void> {
  try {
    const killer = await container.exec({ Cmd: ["/bin/sh", "-c", KILLER, "sh", mark], User: user, AttachStdout: true, AttachStderr: true });
    const s = await killer.start({ hijack: true, stdin: false });
    s.resume();
    await new Promise<void>((resolve) => {
      s.once("end", resolve);
      s.once("close", resolve);
      s.once("error", () => resolve());
    });
  } catch {
    // The container is gone: nothing left to kill.
  }
}

/** The exit status, once the engine has seen the process end (it can lag the stream by a moment). */
export async function exitCodeOf(exec: Docker.Exec): Promise<number | null> {
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? null;
    await new Promise((r) => setTimeout(r, 10));
  }
  return null;
}
