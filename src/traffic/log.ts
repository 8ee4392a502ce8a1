import { readdirSync } from "node:fs";
import { appendFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * The traffic log of a subagent: store/traffic/<subagent>/current.jsonl, rotated to
 * 000001.jsonl, 000002.jsonl, ... once it reaches serve.max_bytes. Outside cas/ and ac/, so gc,
 * clean and `cache verify` leave it alone: it is data the user owns, not a rebuildable result.
 */
export const CURRENT = "current.jsonl";
const ROTATED = /^\d{6}\.jsonl$/;

export function trafficRoot(store: string): string {
  return join(store, "traffic");
}

export function trafficDir(store: string, subagent: string): string {
  return join(trafficRoot(store), subagent);
}

/**
 * The log files of a subagent, oldest first (rotated in sequence, then the current one). Sync:
 * the tasks and dataset stages list them while computing their keys, on every plan.
 */
export function trafficFiles(store: string, subagent: string): string[] {
  let names: string[];
  try {
    names = readdirSync(trafficDir(store, subagent));
  } catch {
    return [];
  }
  const rotated = names.filter((n) => ROTATED.test(n)).sort();
  return [...rotated, ...(names.includes(CURRENT) ? [CURRENT] : [])].map((n) => join(trafficDir(store, subagent), n));
}

/** Subagents that have a traffic log, sorted. */
export async function trafficSubagents(store: string): Promise<string[]> {
  const names = await readdir(trafficRoot(store)).catch(() => [] as string[]);
  return names.filter((n) => trafficFiles(store, n).length > 0).sort();
}

export interface LogLimits {
  maxBytes: number;
  keep: number;
}

/**
 * Appends lines to the current log; one `appendFile` per line (O_APPEND), so a serve process and
 * an MCP server recording at once never interleave inside a line, and a crash leaves at most a
 * torn last line, which readers skip. Writes of this process are queued one at a time.
 */
export class TrafficLog {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly limits: LogLimits,
  ) {}

  append(line: string): Promise<void> {
    const next = this.queue.then(() => this.write(line));
    // A failed write is reported to its caller; the queue goes on for the next one.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every queued line is written. */
  flush(): Promise<void> {
    return this.queue;
  }

  private async write(line: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const current = join(this.dir, CURRENT);
    const size = await stat(current).then((s) => s.size, () => 0);
    if (size > 0 && size + Buffer.byteLength(line) > this.limits.maxBytes) await this.rotate(current);
    // 0o600: prompts and answers are the user's data, redacted or not.
    await appendFile(current, line, { mode: 0o600 });
  }

  private async rotate(current: string): Promise<void> {
    const rotated = (await readdir(this.dir)).filter((n) => ROTATED.test(n)).sort();
    const last = rotated.at(-1);
    const next = `${String((last ? Number(last.slice(0, 6)) : 0) + 1).padStart(6, "0")}.jsonl`;
    // Another process may have rotated it first: its new current file is the one to append to.
    await rename(current, join(this.dir, next)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
    const all = [...rotated, next];
    for (const old of all.slice(0, Math.max(all.length - this.limits.keep, 0))) await rm(join(this.dir, old), { force: true });
  }
}
