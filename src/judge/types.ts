import type { FailureFlag } from "./flags.js";

/** One scored aspect of a trace: the judge gives it 1..5, stored normalised to 0..1. */
export interface RubricDimension {
  name: string;
  description: string;
  /** Weight in the overall score; 0 scores the dimension without counting it. */
  weight: number;
  /** Scored on the final answer: a trace without a valid one gets 0 here, whatever the judge says. */
  gradesAnswer?: boolean;
}

/** Everything that shapes a judgment besides the trace and the model: its digest keys the results. */
export interface Rubric {
  dimensions: RubricDimension[];
  flags: { name: FailureFlag; description: string }[];
  /** Flags that fail a trace whatever its score. */
  failOnFlags: FailureFlag[];
  /** Overall score a trace needs to pass, when set. */
  threshold?: number;
  /** Characters of each tool result shown to the judge. */
  maxToolChars: number;
  /** Characters of the whole rendered transcript (the reference gets a third of it). */
  maxTranscriptChars: number;
  /** Ask for response_format json_object. */
  jsonMode: boolean;
  /** sha256 of the canonical rubric and the prompt version. */
  digest: string;
}

export interface JudgeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  requests: number;
  cached_requests: number;
  cost_usd: number;
}

/**
 * A judgment, stored as judge.json next to the trace. `score` is the weighted mean of the
 * dimensions the judge scored; null when the reply could not be read (then `error` says why).
 */
export interface JudgeResult {
  version: 1;
  score: number | null;
  dimensions: Record<string, { score: number; reason: string }>;
  flags: Record<string, { present: boolean; reason: string }>;
  /** Dimensions and flags the reply left out (the score is over the others). */
  missing: string[];
  /** Scores clamped into range, unknown names ignored. */
  warnings: string[];
  /** The judge model requested. */
  model: string;
  rubric_digest: string;
  usage: JudgeUsage;
  error?: string;
  /** The judge's last reply, cut to 2000 characters, when it could not be read. */
  reply?: string;
}
