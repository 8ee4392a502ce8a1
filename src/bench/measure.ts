import type { Trace } from "../traces/types.js";
import { DELEGATION_TOOL } from "./delegate.js";
import type { OrchestratorTrace } from "./types.js";

/** The tool Terminus-style reports count apart: every command the agent runs in a terminal. */
export const TERMINAL_TOOL = "Bash";

/**
 * What a local model's time costs: GPU or CPU dollars per hour of the measured model time, or
 * dollars per million tokens. There is no default: an unset cost is reported as unknown, never 0.
 */
export type ServingCost = { usd_per_hour: number } | { usd_per_mtok: number };

/** How the models of one item are priced. */
export interface Pricing {
  /** Whether the orchestrator's client knows its model's prices (its usage.cost_usd is real). */
  main: boolean;
  /** The subagents' model: an API model (its usage.cost_usd, when `priced`) or a local one at a serving cost. */
  subagents: { kind: "api"; priced: boolean } | { kind: "local"; cost?: ServingCost };
}

/** One benchmark item's figures, all read from its trace. */
export interface ItemMeasure {
  resolved: boolean;
  /** Whether the task has a verifier at all (unverified items never count as resolved). */
  verified: boolean;
  main_prompt_tokens: number;
  main_completion_tokens: number;
  main_tokens: number;
  main_calls: number;
  /** The orchestrator's own tool calls by tool (delegations included, under the delegation tool's name). */
  tool_calls_by_tool: Record<string, number>;
  tool_calls: number;
  terminal_calls: number;
  delegations: number;
  subagent_prompt_tokens: number;
  subagent_completion_tokens: number;
  subagent_tokens: number;
  subagent_turns: number;
  subagent_terminal_calls: number;
  /** Characters of the answers that went back to the orchestrator. */
  answer_chars: number;
  /**
   * Tokens of those answers (Qwen3's tokenizer, src/traces/answer-tokens.ts): the orchestrator
   * pays for each. Null when the caller did not count them.
   */
  answer_tokens: number | null;
  wall_ms: number;
  /** Every model's cost, or null when one is unpriced (`cost_note` says which). */
  cost_usd: number | null;
  cost_note?: string;
}

export function measure(trace: OrchestratorTrace, pricing: Pricing, answerTokens?: number): ItemMeasure {
  const byTool = toolCallsByTool(trace);
  const subs = trace.delegations.map((d) => d.trace);
  const sum = (f: (t: Trace) => number): number => subs.reduce((n, t) => n + f(t), 0);
  const subPrompt = sum((t) => t.usage.prompt_tokens);
  const subCompletion = sum((t) => t.usage.completion_tokens);
  const cost = itemCost(trace, subs, pricing);
  return {
    resolved: trace.verification?.passed ?? false,
    verified: trace.verification !== undefined,
    main_prompt_tokens: trace.usage.prompt_tokens,
    main_completion_tokens: trace.usage.completion_tokens,
    main_tokens: trace.usage.prompt_tokens + trace.usage.completion_tokens,
    main_calls: trace.usage.requests,
    tool_calls_by_tool: byTool,
    tool_calls: Object.values(byTool).reduce((a, b) => a + b, 0),
    terminal_calls: byTool[TERMINAL_TOOL] ?? 0,
    delegations: trace.delegations.length,
    subagent_prompt_tokens: subPrompt,
    subagent_completion_tokens: subCompletion,
    subagent_tokens: subPrompt + subCompletion,
    subagent_turns: sum((t) => t.turns),
    subagent_terminal_calls: sum((t) => toolCallsByTool(t)[TERMINAL_TOOL] ?? 0),
    answer_chars: trace.delegations.reduce((n, d) => n + d.answer.length, 0),
    answer_tokens: answerTokens ?? null,
    wall_ms: trace.timings.duration_ms,
    ...cost,
  };
}

/** Tool calls as the model wrote them, by name (what it asked for, whether or not the tool existed). */
export function toolCallsByTool(trace: Trace): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of trace.messages) for (const c of m.tool_calls ?? []) out[c.function.name] = (out[c.function.name] ?? 0) + 1;
  return out;
}

function itemCost(main: Trace, subs: Trace[], pricing: Pricing): { cost_usd: number | null; cost_note?: string } {
  const notes: string[] = [];
  if (!pricing.main) notes.push(`no price for the orchestrator's model ${main.model.name}: set its pricing`);
  let subCost = 0;
  if (subs.length) {
    const s = pricing.subagents;
    if (s.kind === "api") {
      if (!s.priced) notes.push(`no price for the subagents' model ${subs[0]!.model.name}: set the teacher's pricing`);
      subCost = subs.reduce((n, t) => n + t.usage.cost_usd, 0);
    } else if (!s.cost) {
      notes.push(`no serving cost for the local ${subs[0]!.model.role} model: set the benchmark's serving cost (usd_per_hour or usd_per_mtok)`);
    } else if ("usd_per_hour" in s.cost) {
      subCost = (s.cost.usd_per_hour * subs.reduce((n, t) => n + t.timings.model_ms, 0)) / 3_600_000;
    } else {
      subCost = (s.cost.usd_per_mtok * subs.reduce((n, t) => n + t.usage.prompt_tokens + t.usage.completion_tokens, 0)) / 1_000_000;
    }
  }
  if (notes.length) return { cost_usd: null, cost_note: notes.join("; ") };
  return { cost_usd: Math.round((main.usage.cost_usd + subCost) * 1e8) / 1e8 };
}

