import type { FunctionToolDef } from "../tools/types.js";

/**
 * What the dataset stage writes: train.jsonl and validation.jsonl hold one TrainingRow per line
 * (the OpenAI chat fine-tuning format, tool-call arguments as JSON strings), stats.json holds
 * DatasetStats, card.md describes both.
 */

export type RowMessage =
  | { role: "system" | "user"; content: string }
  | {
      role: "assistant";
      content: string;
      /** Only with dataset.keep_reasoning; the field name chat templates (Qwen3, DeepSeek-R1) read. */
      reasoning_content?: string;
      tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
    }
  | { role: "tool"; tool_call_id: string; content: string };

export interface RowMeta {
  task_id: string;
  sample: number;
  /** The traces stage's item id (items/<trace_item>/trace.json). */
  trace_item: string;
  /** The teacher model that wrote the assistant turns. */
  model: string;
  subagent: string;
  /** Whether the task's verifier passed on this rollout; absent when the trace has no verifier result. */
  verified?: boolean;
  /** A recorded delegation the teacher answered (dataset.include_escalations), not a traces item. */
  escalation?: true;
  /** With dataset.max_answer_tokens and long_answers: flag, a final answer over the limit. */
  long_answer?: true;
}

export interface TrainingRow {
  messages: RowMessage[];
  tools: FunctionToolDef[];
  meta: RowMeta;
}

/** Why a trace did not become a row; each dropped trace counts under exactly one reason. */
export const DROP_REASONS = [
  "unreadable_trace",
  "turn_cap",
  "contract_violation",
  "error",
  "contract_not_met",
  "verifier_failed",
  "unverified",
  "below_judge_threshold",
  "malformed_conversation",
  "invalid_tool_arguments",
  "repeated_tool_call",
  "too_long",
  "long_answer",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const DROP_REASON_TEXT: Record<DropReason, string> = {
  unreadable_trace: "trace.json missing or not a trace",
  turn_cap: "the rollout hit traces.max_turns",
  contract_violation: "the rollout ended without the output contract's tag",
  error: "the rollout failed (teacher or sandbox error)",
  contract_not_met: "completed, but the output contract does not hold",
  verifier_failed: "the task's verifier did not pass (dataset.require_verified)",
  unverified: "no verifier result: the task has no verifier (dataset.require_verified)",
  below_judge_threshold: "the judge's score is below dataset.judge_threshold",
  malformed_conversation: "roles out of order, or tool calls and tool results do not match",
  invalid_tool_arguments: "a tool call's arguments are not a JSON object",
  repeated_tool_call: "the same tool call (name and arguments) more than dataset.max_repeated_tool_calls times",
  too_long: "more tokens than dataset.max_tokens_per_row",
  long_answer: "a final answer of more tokens than dataset.max_answer_tokens (long_answers: drop)",
};

export interface Summary {
  min: number;
  mean: number;
  max: number;
  total: number;
}

export interface SplitStats {
  rows: number;
  tasks: number;
  tokens: Summary;
}

export interface DatasetStats {
  /** Traces read from the traces stage. */
  traces: number;
  rows: number;
  tasks: number;
  splits: { train: SplitStats; validation: SplitStats };
  turns: Summary;
  /** Per row, under the base model's tokenizer and chat template (tools included). */
  tokens: Summary;
  tokenizer: { base_model: string };
  tool_calls: { total: number; by_tool: Record<string, number> };
  /** Tool results that were errors, summed over the kept rows' traces. */
  tool_errors: number;
  dropped: { total: number; by_reason: Partial<Record<DropReason, number>> };
  /**
   * The task verifiers' results: traces that carry one and how many of those passed (over every
   * trace read), and kept rows whose verifier passed.
   */
  verification: { traces: number; passed: number; rows: number };
  /**
   * Final answers (what the orchestrator reads back) longer than dataset.max_answer_tokens: how
   * many were dropped or, with long_answers: flag, kept and counted. Absent without the limit.
   */
  answers?: { max_tokens: number; action: "drop" | "flag"; long: number };
  /** dataset.include_escalations: recorded delegations the teacher answered, and the rows they became (before weights). */
  escalations?: { traces: number; rows: number };
  /** Rows in train.jsonl counting repeats (dataset.weights); absent when every weight is 1. */
  weighted_train_rows?: number;
  settings: {
    max_tokens_per_row: number;
    validation: number;
    judge_threshold: number | null;
    max_repeated_tool_calls: number;
    keep_reasoning: boolean;
    require_verified: boolean;
    /** The settings below appear only when set, so older datasets' keys and stats hold. */
    include_escalations?: boolean;
    weights?: { traces: number; escalations: number };
    max_answer_tokens?: number;
    long_answers?: "drop" | "flag";
  };
}
