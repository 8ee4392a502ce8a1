import type { Trace } from "../traces/types.js";

/** The three players of an eval: the distilled student, the untrained base and the teacher. */
export type EvalRole = "student" | "base" | "teacher";

export interface LatencyStats {
  mean: number;
  p50: number;
  p95: number;
}

/** One model's results over the held-out tasks. */
export interface ModelSummary {
  role: EvalRole;
  model: Trace["model"];
  tasks: number;
  /** Fraction of tasks whose trace completed with the contract held (and the judge passed, when a judge is set). */
  success_rate: number;
  /** Mean judge score overall and per dimension (absent without a judge). */
  judge?: { score: number; dimensions: Record<string, number> };
  /**
   * The task verifiers (tests run in the rollout's container after it ended): held-out tasks
   * with a verifier result, how many passed, and passed / tasks. Absent when no task has one.
   */
  verified?: VerifiedSummary;
  /** How many traces showed each failure mode (judge flags and hard checks). */
  failure_modes: Record<string, number>;
  statuses: Record<string, number>;
  turns_mean: number;
  tool_calls_mean: number;
  tokens: { prompt: number; completion: number; per_task: number };
  latency_ms: LatencyStats;
  cost_per_task_usd: number;
  /**
   * Tokens of the answers handed back to the orchestrator, which pays for each (the contract's
   * answer, else the final message). Absent in evals made before it was counted.
   */
  answer_tokens?: { mean: number; p95: number; max: number };
}

export interface VerifiedSummary {
  tasks: number;
  passed: number;
  success_rate: number;
}

export interface TargetResult {
  name: string;
  /** As written in subagents.yaml, e.g. ">= 0.95". */
  expected: string;
  actual: number | null;
  ok: boolean;
}

/** Per task, what each model did: the drill-down of the report. */
export interface TaskOutcome {
  id: string;
  prompt: string;
  results: Partial<Record<EvalRole, TaskResult>>;
}

/** One model's rollout of one task: `verified` is its verifier's verdict, absent when the task has none. */
export interface TaskResult {
  status: Trace["status"];
  success: boolean;
  score?: number;
  verified?: boolean;
  trace: string;
  judge?: string;
  /** Tokens of the answer handed back (see ModelSummary.answer_tokens). */
  answer_tokens?: number;
}

/** `eval.json`, written by the eval stage and read by the report and CI. */
export interface EvalResult {
  version: 1;
  subagent: string;
  models: Partial<Record<EvalRole, ModelSummary>>;
  /** The student's ratios to the teacher (success, verified success, judge, cost, latency, tokens, turns). */
  ratios: Record<string, number | null>;
  targets: TargetResult[];
  /** Whether targets fail the build; when they do not, why (the example's tiny model). */
  gate: { enabled: boolean; reason?: string; passed: boolean };
  tasks: TaskOutcome[];
}
