import type { Trace } from "../traces/types.js";

/**
 * The orchestrator benchmark's shapes (issue: does the main agent do as well, for less, with our
 * subagents?). An arm says who plays the offered subagents: nobody (`none`: no delegation tool),
 * the subagent's teacher, the untrained base model, the distilled student, or student and teacher
 * as the subagent's route policy decides per delegation (`routed`).
 */
export const ARMS = ["none", "teacher", "base", "student", "routed"] as const;
export type Arm = (typeof ARMS)[number];

/** One call of the delegation tool: what the orchestrator asked, what went back, and the subagent's own rollout. */
export interface Delegation {
  subagent: string;
  description: string;
  prompt: string;
  /** Exactly what the orchestrator got back: the subagent's final answer, or why there is none. */
  answer: string;
  /** The subagent's turns, which stay inside it (as in Claude Code): never shown to the orchestrator. */
  trace: Trace;
}

/** The orchestrator's rollout on one task in one arm: its own messages, with each delegation's nested trace. */
export interface OrchestratorTrace extends Trace {
  arm: Arm;
  delegations: Delegation[];
  /** Set when a CLI played the main agent (kind claude-code or command): what it reported of its own run. */
  cli?: CliFigures;
}

/** A CLI orchestrator's own account, kept beside the figures the trace derives from it. */
export interface CliFigures {
  kind: "claude-code" | "command";
  /** Claude Code's package version; absent for a command. */
  version?: string;
  /** Its tool calls by tool (from its stream, or as it reported them when it printed no stream). */
  tool_calls_by_tool: Record<string, number>;
  num_turns?: number;
  /** Its own cost figure (Claude Code: every model it called); the trace's usage.cost_usd uses the benchmark's pricing instead when set. */
  total_cost_usd?: number;
  model_usage?: Record<string, unknown>;
  exit_code: number | null;
}
