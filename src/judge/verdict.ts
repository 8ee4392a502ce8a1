import type { FailureFlag } from "./flags.js";
import type { JudgeResult } from "./types.js";

export interface PassPolicy {
  /** Overall score needed; none: any readable judgment without a failing flag passes. */
  threshold?: number;
  failOnFlags: readonly FailureFlag[];
}

export interface Verdict {
  pass: boolean;
  reason: string;
}

/** Pass or fail of one judgment: an unreadable judgment fails, so does a failing flag. */
export function judgeVerdict(result: JudgeResult, policy: PassPolicy): Verdict {
  if (result.error !== undefined || result.score === null) return { pass: false, reason: `judge error: ${result.error ?? "no score"}` };
  const raised = policy.failOnFlags.filter((f) => result.flags[f]?.present);
  if (raised.length) {
    return { pass: false, reason: `flagged ${raised.map((f) => `${f}${result.flags[f]!.reason ? ` (${result.flags[f]!.reason})` : ""}`).join(", ")}` };
  }
  if (policy.threshold === undefined) return { pass: true, reason: `score ${result.score}` };
  return result.score >= policy.threshold
    ? { pass: true, reason: `score ${result.score} >= ${policy.threshold}` }
    : { pass: false, reason: `score ${result.score} < ${policy.threshold}` };
}

export interface JudgeSummary {
  judged: number;
  errors: number;
  /** Mean overall score over readable judgments. */
  mean_score: number | null;
  /** Fraction of all judgments (errors included) that pass. */
  pass_rate: number | null;
  /** Mean score of each dimension over the judgments that scored it. */
  dimensions: Record<string, number>;
  /** Fraction of readable judgments that raise each flag. */
  flags: Record<string, number>;
  cost_usd: number;
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/** Aggregates judgments for eval metrics and the report. */
export function summarizeJudgments(results: readonly JudgeResult[], policy: PassPolicy): JudgeSummary {
  const readable = results.filter((r) => r.error === undefined && r.score !== null);
  const mean = (xs: number[]): number | null => (xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
  const dimensions: Record<string, number[]> = {};
  const flags: Record<string, number[]> = {};
  for (const r of readable) {
    for (const [name, d] of Object.entries(r.dimensions)) (dimensions[name] ??= []).push(d.score);
    for (const [name, f] of Object.entries(r.flags)) (flags[name] ??= []).push(f.present ? 1 : 0);
  }
  const means = (groups: Record<string, number[]>): Record<string, number> =>
    Object.fromEntries(Object.entries(groups).sort(([a], [b]) => a.localeCompare(b)).map(([k, xs]) => [k, mean(xs)!]));
  return {
    judged: results.length,
    errors: results.length - readable.length,
    mean_score: mean(readable.map((r) => r.score!)),
    pass_rate: results.length ? round(results.filter((r) => judgeVerdict(r, policy).pass).length / results.length) : null,
    dimensions: means(dimensions),
    flags: means(flags),
    cost_usd: Math.round(results.reduce((n, r) => n + r.usage.cost_usd, 0) * 1e8) / 1e8,
  };
}
