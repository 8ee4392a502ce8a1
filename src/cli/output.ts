import { relative } from "node:path";
import { formatProblem, type Problem } from "../errors.js";
import { describeReason, type Reason } from "../engine/events.js";

/** Writes one JSON document to stdout: the whole output of a command run with --json. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints problems; those that name a subagents.yaml key only get its position first. */
export async function printProblems(problems: Problem[], config?: { file: string; root: string }): Promise<void> {
  let placed = problems;
  if (config) {
    const { locateInConfig } = await import("../config/positions.js");
    placed = await locateInConfig(problems, config.file, relative(config.root, config.file));
  }
  for (const p of placed) process.stderr.write(`${formatProblem(p)}\n`);
}

/** Reasons as data plus a human message, for --json consumers. */
export function reasonsJson(reasons: Reason[]): (Reason & { message: string })[] {
  return reasons.map((r) => ({ ...r, message: describeReason(r) }));
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
