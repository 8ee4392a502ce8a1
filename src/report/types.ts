import type { EvalResult } from "../eval/types.js";
import type { CostQualityCurve } from "../route/curve.js";
import type { Trace } from "../traces/types.js";

/** One pipeline stage as the report shows it. */
export interface StageSummary {
  kind: string;
  status: string;
  durationMs?: number;
  costUsd?: number;
  /** A line of counts, e.g. "12 tasks (10 train, 2 held out)". */
  detail?: string;
}

export interface TrainingSummary {
  loss: { step: number; loss: number }[];
  evalLoss?: { step: number; loss: number }[];
  baseModel?: string;
  rows?: number;
  tokensPerSecond?: number;
  runtimeS?: number;
}

/** Everything one subagent's report page needs; the command gathers it from the store. */
export interface ReportInput {
  subagent: string;
  generatedAt: string;
  description?: string;
  stages: StageSummary[];
  training?: TrainingSummary;
  eval?: EvalResult;
  /** Traces referenced by eval.tasks[].results[role].trace, by that path. */
  traces: Record<string, Trace>;
  /** The learned router's cost-quality curve (the router stage's curve.json), when built. */
  routing?: CostQualityCurve;
  /** Notes shown at the top (e.g. a stand-in teacher was used). */
  notes: string[];
}
