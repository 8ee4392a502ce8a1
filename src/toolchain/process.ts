import { childProcess } from "../builtin.js";

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Receives each output line (stdout and stderr); carriage-return progress bars are thinned out. */
  log?: (line: string) => void;
  /** Bytes written to stdin, then closed. */
  stdin?: string;
}

export interface SpawnResult {
  code: number | null;
  stdout: string;
  /** The last lines of stderr and stdout together, for error messages. */
  tail: string;
}

/** A command that failed: the message carries its output's last lines. */
export class ToolError extends Error {
  constructor(message: string, readonly tail: string) {
    super(tail ? `${message}\n${indent(tail)}` : message);
    this.name = "ToolError";
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `  | ${l}`)
    .join("\n");
}

/** Keeps the last `max` lines seen, for error messages. */
export class TailBuffer {
  private lines: string[] = [];
  constructor(private readonly max = 30) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  text(): string {
    return this.lines.join("\n");
  }
}

/** Splits a byte stream into lines; \r-separated progress updates are logged at most once a second. */
export function lineSplitter(onLine: (line: string) => void): { write(chunk: Buffer | string): void; end(): void } {
  let partial = "";
  let lastProgress = 0;
  const emit = (piece: string, isProgress: boolean): void => {
    const line = piece.trimEnd();
    if (!line) return;
    if (isProgress) {
      const now = Date.now();
      if (now - lastProgress < 1000) return;
      lastProgress = now;
    }
    onLine(line);
  };
  return {
    write(chunk) {
      partial += chunk.toString();
      const parts = partial.split(/(\r\n|\n|\r)/);
      partial = parts.pop() ?? "";
      for (let i = 0; i < parts.length; i += 2) emit(parts[i]!, parts[i + 1] === "\r");
    },
    end() {
      emit(partial, false);
      partial = "";
    },
  };
}

/** Runs a command to completion, streaming its output lines to `log`. Never uses a shell. */
export function runCommand(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      signal: opts.signal,
    });
    const tail = new TailBuffer();
    let stdout = "";
    const onLine = (line: string): void => {
      tail.push(line);
      opts.log?.(line);
    };
    const errLines = lineSplitter(onLine);
    const outLines = lineSplitter(onLine);
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      outLines.write(d);
    });
    child.stderr!.on("data", (d: Buffer) => errLines.write(d));
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    child.on("error", (e) => reject(e));
    child.on("close", (code) => {
      outLines.end();
      errLines.end();
      resolve({ code, stdout, tail: tail.text() });
    });
  });
}

/** runCommand, throwing a ToolError with the output's tail when the exit status is not 0. */
export async function runChecked(what: string, cmd: string, args: string[], opts: SpawnOptions & { acceptExitCodes?: number[] } = {}): Promise<SpawnResult> {
  let r: SpawnResult;
  try {
    r = await runCommand(cmd, args, opts);
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ToolError(code === "ENOENT" ? `${what}: ${cmd} not found` : `${what}: ${(e as Error).message}`, "");
  }
  if (r.code !== 0 && !(r.code !== null && opts.acceptExitCodes?.includes(r.code))) throw new ToolError(`${what} failed (exit ${r.code ?? "killed"})`, r.tail);
  return r;
}

/** The last JSON object line a command printed (the Python helpers print one as their result). */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (!line) throw new Error(`expected a JSON result line, got: ${stdout.slice(-500)}`);
  return JSON.parse(line) as T;
}
