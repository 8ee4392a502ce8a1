import type { JudgeResult } from "../judge/types.js";
import type { Trace } from "../traces/types.js";
import type { EvalRole, LatencyStats, ModelSummary, TargetResult, TaskResult, VerifiedSummary } from "./types.js";

/** One model's rollout of one held-out task, with its judgment when a judge is set. */
export interface Outcome {
  trace: Trace;
  judge?: JudgeResult;
  /** The judge's verdict (pass when there is no judge). */
  judgePass: boolean;
  /** Tokens of the answer handed back to the orchestrator, once counted. */
  answerTokens?: number;
}

/** Completed, the contract held, and the judge (when there is one) passed it. */
export function isSuccess(o: Outcome): boolean {
  return o.trace.status === "completed" && o.trace.contract.ok && o.judgePass;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function latencyStats(xs: number[]): LatencyStats {
  return { mean: Math.round(mean(xs)), p50: Math.round(quantile(xs, 0.5)), p95: Math.round(quantile(xs, 0.95)) };
}

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

/** The failure modes a trace shows: the judge's flags plus what the hard checks see. */
export function failureModes(o: Outcome, maxTurns: number): string[] {
  const modes: string[] = [];
  for (const [flag, f] of Object.entries(o.judge?.flags ?? {})) if (f.present) modes.push(flag);
  if (o.trace.status === "turn_cap" || o.trace.turns >= maxTurns) modes.push("turn_cap");
  if (o.trace.status === "contract_violation" || !o.trace.contract.ok) modes.push("contract_broken");
  if (o.trace.status === "error") modes.push("error");
  if (o.trace.tool_errors > 0) modes.push("tool_errors");
  return [...new Set(modes)];
}

/** Over the rollouts whose task has a verifier: how many there are and passed; undefined when none has. */
export function verifiedSummary(outcomes: Outcome[]): VerifiedSummary | undefined {
  const verified = outcomes.flatMap((o) => (o.trace.verification ? [o.trace.verification] : []));
  if (!verified.length) return undefined;
  const passed = verified.filter((v) => v.passed).length;
  return { tasks: verified.length, passed, success_rate: round(passed / verified.length) };
}

/** What eval.json records of one model's rollout of one task (paths relative to the eval output). */
export function taskResult(role: EvalRole, taskId: string, o: Outcome): TaskResult {
  return {
    status: o.trace.status,
    success: isSuccess(o),
    ...(o.judge?.score !== undefined && o.judge.score !== null ? { score: o.judge.score } : {}),
    ...(o.trace.verification ? { verified: o.trace.verification.passed } : {}),
    ...(o.answerTokens !== undefined ? { answer_tokens: o.answerTokens } : {}),
    trace: `traces/${role}/${taskId}.json`,
    ...(o.judge ? { judge: `judge/${role}/${taskId}.json` } : {}),
  };
}

export function summarize(role: EvalRole, outcomes: Outcome[], maxTurns: number): ModelSummary {
  const n = outcomes.length;
  const statuses: Record<string, number> = {};
  const modes: Record<string, number> = {};
  for (const o of outcomes) {
    statuses[o.trace.status] = (statuses[o.trace.status] ?? 0) + 1;
    for (const m of failureModes(o, maxTurns)) modes[m] = (modes[m] ?? 0) + 1;
  }
  const judged = outcomes.filter((o) => o.judge && o.judge.score !== null);
  const dims: Record<string, number[]> = {};
  for (const o of judged) for (const [k, d] of Object.entries(o.judge!.dimensions)) (dims[k] ??= []).push(d.score);
  const prompt = outcomes.reduce((a, o) => a + o.trace.usage.prompt_tokens, 0);
  const completion = outcomes.reduce((a, o) => a + o.trace.usage.completion_tokens, 0);
  const verified = verifiedSummary(outcomes);
  return {
    role,
    model: outcomes[0]?.trace.model ?? { name: role, base_url: "", role: role === "teacher" ? "teacher" : role },
    tasks: n,
    success_rate: n ? round(outcomes.filter(isSuccess).length / n) : 0,
    ...(judged.length
      ? { judge: { score: round(mean(judged.map((o) => o.judge!.score!))), dimensions: Object.fromEntries(Object.entries(dims).sort(([a], [b]) => a.localeCompare(b)).map(([k, xs]) => [k, round(mean(xs))])) } }
      : {}),
    ...(verified ? { verified } : {}),
    failure_modes: Object.fromEntries(Object.entries(modes).sort(([a], [b]) => a.localeCompare(b))),
    statuses,
    turns_mean: round(mean(outcomes.map((o) => o.trace.turns)), 2),
    tool_calls_mean: round(mean(outcomes.map((o) => o.trace.tool_calls)), 2),
    tokens: { prompt, completion, per_task: n ? Math.round((prompt + completion) / n) : 0 },
    latency_ms: latencyStats(outcomes.map((o) => o.trace.timings.duration_ms)),
    cost_per_task_usd: n ? round(outcomes.reduce((a, o) => a + o.trace.usage.cost_usd, 0) / n, 6) : 0,
    ...answerTokenStats(outcomes),
  };
}

function answerTokenStats(outcomes: Outcome[]): Pick<ModelSummary, "answer_tokens"> {
  const xs = outcomes.flatMap((o) => (o.answerTokens === undefined ? [] : [o.answerTokens]));
  if (!xs.length) return {};
  return { answer_tokens: { mean: round(mean(xs), 1), p95: quantile(xs, 0.95), max: Math.max(...xs) } };
}

/** The student's ratios to the teacher: 1.0 means as good (or as costly) as the teacher. */
export function ratios(student?: ModelSummary, teacher?: ModelSummary): Record<string, number | null> {
  if (!student || !teacher) return {};
  const r = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined || b === 0 ? null : round(a / b));
  return {
    success_vs_teacher: r(student.success_rate, teacher.success_rate),
    verified_success_vs_teacher: r(student.verified?.success_rate, teacher.verified?.success_rate),
    judge_vs_teacher: r(student.judge?.score, teacher.judge?.score),
    cost_vs_teacher: r(student.cost_per_task_usd, teacher.cost_per_task_usd),
    latency_vs_teacher: r(student.latency_ms.p50, teacher.latency_ms.p50),
    tokens_vs_teacher: r(student.tokens.per_task, teacher.tokens.per_task),
    turns_vs_teacher: r(student.turns_mean, teacher.turns_mean),
    answer_tokens_vs_teacher: r(student.answer_tokens?.mean, teacher.answer_tokens?.mean),
  };
}

/** Metrics targets can name (prefix max_ or min_ to set the direction of a bare number). */
export const TARGET_METRICS = [
  "success_rate",
  "success_vs_teacher",
  "verified_success",
  "verified_success_vs_teacher",
  "judge_score",
  "judge_vs_teacher",
  "cost_per_task",
  "cost_vs_teacher",
  "latency_p50_ms",
  "latency_p95_ms",
  "latency_vs_teacher",
  "turns_per_task",
  "tokens_per_task",
  "tokens_vs_teacher",
  "answer_tokens",
  "answer_tokens_vs_teacher",
] as const;

/** "max_cost_per_task" -> metric cost_per_task, bare numbers meaning <=; min_ and no prefix mean >=. */
export function parseTargetName(name: string): { metric: string; defaultOp: "<=" | ">=" } {
  if (name.startsWith("max_")) return { metric: name.slice(4), defaultOp: "<=" };
  if (name.startsWith("min_")) return { metric: name.slice(4), defaultOp: ">=" };
  return { metric: name, defaultOp: ">=" };
}

export function metricValue(metric: string, student: ModelSummary | undefined, r: Record<string, number | null>): number | null {
  if (!student) return null;
  switch (metric) {
    case "success_rate":
      return student.success_rate;
    case "verified_success":
      return student.verified?.success_rate ?? null;
    case "judge_score":
      return student.judge?.score ?? null;
    case "cost_per_task":
      return student.cost_per_task_usd;
    case "latency_p50_ms":
      return student.latency_ms.p50;
    case "latency_p95_ms":
      return student.latency_ms.p95;
    case "turns_per_task":
      return student.turns_mean;
    case "tokens_per_task":
      return student.tokens.per_task;
    case "answer_tokens":
      return student.answer_tokens?.mean ?? null;
    default:
      return r[metric] ?? null;
  }
}

export function checkTargets(targets: Record<string, number | string>, student: ModelSummary | undefined, r: Record<string, number | null>): TargetResult[] {
  return Object.entries(targets).map(([name, want]) => {
    const { metric, defaultOp } = parseTargetName(name);
    const [op, bound] = typeof want === "number" ? [defaultOp, want] : (() => {
      const m = /^\s*(>=|<=|>|<|==)\s*(\S+)\s*$/.exec(want)!;
      return [m[1]!, Number(m[2])] as const;
    })();
    const actual = metricValue(metric, student, r);
    const ok =
      actual !== null &&
      (op === ">=" ? actual >= bound : op === "<=" ? actual <= bound : op === ">" ? actual > bound : op === "<" ? actual < bound : actual === bound);
    return { name, expected: `${op} ${bound}`, actual, ok };
  });
}
