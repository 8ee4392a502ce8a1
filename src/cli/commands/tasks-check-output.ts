import type { Verification } from "../../envs/types.js";
import type { CheckHalf, SolutionHalf, TaskCheck } from "../../verify/check.js";
import type { CheckJob, SkippedTask } from "../../verify/check-list.js";
import { formatDuration } from "../output.js";

/** One task of `tasks check`: a row of the report, and an entry of its --json document. */
export interface CheckRow {
  task: string;
  subagents: string[];
  /** The environment's id (the sandbox stage's item). */
  env: string;
  status: "ok" | "broken" | "error" | "unchecked";
  /** For broken: the halves that failed. */
  broken?: CheckHalf[];
  /** In words: why it is broken, could not be checked or is not checkable. */
  reason?: string;
  /** The verifier on the untouched environment. */
  nop?: Verification;
  /** The reference solution then the verifier; null for a checked task without a solution. */
  solution?: SolutionHalf | null;
  duration_ms?: number;
}

export function checkRow(job: CheckJob, check: TaskCheck): CheckRow {
  const base = { task: job.task, subagents: job.subagents, env: job.env };
  if (check.status === "error") return { ...base, status: "error", reason: `the check could not run: ${check.error}`, duration_ms: check.duration_ms };
  return {
    ...base,
    status: check.status,
    ...(check.broken.length ? { broken: check.broken, reason: check.broken.map((h) => describeHalf(h, check)).join("; ") } : {}),
    nop: check.nop,
    solution: check.solution ?? null,
    duration_ms: check.duration_ms,
  };
}

export function skippedRow(s: SkippedTask): CheckRow {
  return { task: s.task, subagents: s.subagents, env: s.env, status: s.status, reason: s.reason };
}

type Checked = Extract<TaskCheck, { status: "ok" | "broken" }>;

/** Why a half failed, in words. */
function describeHalf(half: CheckHalf, check: Checked): string {
  if (half === "nop") return `nop half: the verifier passes on the untouched environment (reward ${check.nop.reward}): the task is solved before the agent starts`;
  const s = check.solution!;
  if (!s.verifier) return `solution half: the reference solution could not run: ${s.run.error ?? "unknown"}`;
  const ran = s.run.timed_out ? "timed out" : `exited ${s.run.exit_code}`;
  return `solution half: the verifier fails after the reference solution (which ${ran})${s.verifier.error ? `: ${s.verifier.error}` : ""}`;
}

/** What a progress line says of a finished check. */
export function progressLine(row: CheckRow): string {
  const name = `${row.task} (${row.subagents.join(", ")})`;
  if (row.status === "ok") {
    const solution = row.solution ? `, solution ${formatDuration(row.solution.run.duration_ms + (row.solution.verifier?.duration_ms ?? 0))}` : ", no solution to run";
    return `${name}: ok (nop ${formatDuration(row.nop!.duration_ms)}${solution})`;
  }
  return `${name}: ${row.status}: ${row.reason}`;
}

const LABEL = { ok: "ok", broken: "BROKEN", error: "ERROR", unchecked: "unchecked" } as const;

/** The human report on stdout: a line per task, the output tails of what failed, the counts. */
export function printReport(rows: CheckRow[], unavailable: { subagent: string; reason: string }[], durationMs: number): void {
  const width = Math.max(0, ...rows.map((r) => r.task.length));
  for (const r of rows) {
    const where = `${r.subagents.join(", ")}, env ${r.env}`;
    console.log(`${LABEL[r.status].padEnd(9)} ${r.task.padEnd(width)}  ${summary(r)}  (${where})`);
    for (const [title, tail] of tails(r)) {
      console.log(`          ${title}:`);
      for (const line of tail.split("\n")) console.log(`            | ${line}`);
    }
  }
  for (const u of unavailable) console.log(`not checked: ${u.subagent}: its sandbox stage is unavailable (${u.reason})`);
  const n = (status: CheckRow["status"]): number => rows.filter((r) => r.status === status).length;
  const checked = rows.length - n("unchecked");
  const counts = [`${n("ok")} ok`, `${n("broken")} broken`, ...(n("error") ? [`${n("error")} could not be checked`] : []), ...(n("unchecked") ? [`${n("unchecked")} not checkable (no verifier)`] : [])];
  console.log(rows.length ? `${checked} task${checked === 1 ? "" : "s"} checked in ${formatDuration(durationMs)}: ${counts.join(", ")}` : "no tasks to check");
}

function summary(r: CheckRow): string {
  if (r.status !== "ok") return r.reason ?? "";
  const nop = `nop: verifier failed as it should (${formatDuration(r.nop!.duration_ms)})`;
  if (!r.solution) return `${nop}; no reference solution`;
  const solution = r.solution.run.duration_ms + (r.solution.verifier?.duration_ms ?? 0);
  return `${nop}; solution: verifier passed (${formatDuration(solution)})`;
}

/** The outputs a reader needs to see why a task is broken. */
function tails(r: CheckRow): [string, string][] {
  const out: [string, string][] = [];
  if (r.broken?.includes("nop") && r.nop?.output_tail) out.push(["verifier output, untouched environment", r.nop.output_tail]);
  if (r.broken?.includes("solution") && r.solution) {
    if (r.solution.run.exit_code !== 0 && r.solution.run.output_tail) out.push(["solution output", r.solution.run.output_tail]);
    if (r.solution.verifier?.output_tail) out.push(["verifier output, after the solution", r.solution.verifier.output_tail]);
  }
  return out;
}
