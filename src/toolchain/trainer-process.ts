import { childProcess } from "../builtin.js";
import { ownChild } from "../sandbox/cleanup.js";

/** The JSON lines `python -m trainer.sft` prints on stdout. */
export type TrainerEvent =
  | { event: "start"; model: string; device: string; rows: { train: number; validation: number }; dropped: { train: number; validation: number }; params: number; trainable_params: number; packing: boolean }
  | { event: "progress"; step: number; total: number; loss: number | null; learning_rate: number | null; tokens_per_s: number | null; eta_s: number | null }
  | { event: "done"; output_dir: string; steps: number; train_loss: number; val_loss: number | null; duration_s: number }
  | { event: "error"; message: string };

/** Where a running trainer's output goes: parsed events, and every raw line for train.log. */
export interface TrainerSink {
  event(e: TrainerEvent): void;
  /** A raw line of stdout or stderr, in arrival order. */
  line(stream: "stdout" | "stderr", text: string): void;
}

export function parseEvent(line: string): TrainerEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const e = JSON.parse(line) as TrainerEvent;
    return typeof e === "object" && e !== null && typeof e.event === "string" ? e : undefined;
  } catch {
    return undefined;
  }
}

/** A human line for the build log. */
export function describeEvent(e: TrainerEvent): string {
  const num = (x: number | null | undefined, digits = 4) => (x === null || x === undefined ? "-" : Number(x.toPrecision(digits)).toString());
  switch (e.event) {
    case "start":
      return `training on ${e.device}: ${e.rows.train} rows (${e.dropped.train} dropped), ${e.rows.validation} validation rows, ${e.trainable_params} trainable of ${e.params} params${e.packing ? ", packed" : ""}`;
    case "progress":
      return `step ${e.step}/${e.total} loss ${num(e.loss)} lr ${num(e.learning_rate, 3)} ${num(e.tokens_per_s, 3)} tok/s eta ${e.eta_s === null ? "-" : `${Math.round(e.eta_s)}s`}`;
    case "done":
      return `done: ${e.steps} steps, train loss ${num(e.train_loss)}, validation loss ${num(e.val_loss)}, ${Math.round(e.duration_s)}s`;
    case "error":
      return `error: ${e.message}`;
  }
}

/** Splits a byte stream into lines (carriage-return updates count as lines too). */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer | string): void; end(): void } {
  let rest = "";
  return {
    push(chunk) {
      rest += chunk.toString();
      const parts = rest.split(/\r?\n|\r/);
      rest = parts.pop() ?? "";
      for (const p of parts) onLine(p);
    },
    end() {
      if (rest) onLine(rest);
      rest = "";
    },
  };
}

export function feed(sink: TrainerSink, stream: "stdout" | "stderr"): (line: string) => void {
  return (line) => {
    sink.line(stream, line);
    const e = stream === "stdout" ? parseEvent(line) : undefined;
    if (e) sink.event(e);
  };
}

export interface LocalRun {
  /** The trainer's python, or the launcher that starts it (srun, see launch.ts). */
  python: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  sink: TrainerSink;
}

/**
 * Runs the trainer as a child in its own process group, so that an abort ends it and anything
 * it started (dataloader workers, tokenizer threads): SIGTERM, then SIGKILL after a grace period.
 */
export function runLocal(r: LocalRun): Promise<number> {
  return new Promise((resolve, reject) => {
    if (r.signal.aborted) return reject(new Error("aborted"));
    const child = childProcess().spawn(r.python, r.args, { cwd: r.cwd, env: r.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    // Detached, it would live on after a signal or an exit that never aborted the build.
    ownChild(child, { group: true });
    const out = lineSplitter(feed(r.sink, "stdout"));
    const err = lineSplitter(feed(r.sink, "stderr"));
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      kill("SIGTERM");
      killTimer = setTimeout(() => kill("SIGKILL"), 5000);
    };
    r.signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e: NodeJS.ErrnoException) => {
      r.signal.removeEventListener("abort", onAbort);
      reject(new Error(e.code === "ENOENT" ? `the trainer's python (or its launcher) was not found: ${r.python}` : e.message));
    });
    child.on("close", (code, signal) => {
      r.signal.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      out.end();
      err.end();
      if (r.signal.aborted) reject(new Error("aborted"));
      else resolve(code ?? (signal ? 128 : 1));
    });
  });
}
