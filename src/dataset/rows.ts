import { canonicalJson } from "../engine/key.js";
import { err, ok, type Result } from "../result.js";
import { pythonJson } from "./python-json.js";
import type { DatasetTrace, TraceMessage } from "./read-traces.js";
import type { DropReason, RowMessage, TrainingRow } from "./types.js";

export interface RowOptions {
  judgeThreshold: number | null;
  maxRepeatedToolCalls: number;
  keepReasoning: boolean;
  /** dataset.require_verified: only rollouts whose task verifier passed. */
  requireVerified: boolean;
}

/**
 * A trace becomes a row when its rollout completed with the contract holding, the task's
 * verifier passed (with dataset.require_verified), the judge (when it scored the trace and a
 * threshold is set) passed it, its conversation is well formed and it does not loop. The token
 * limit is applied later, once the rows are tokenised.
 */
export function traceToRow(item: string, trace: DatasetTrace, options: RowOptions): Result<TrainingRow, DropReason> {
  if (trace.status !== "completed") return err(trace.status);
  if (!trace.contract.ok) return err("contract_not_met");
  const verifier = verifierDrop(trace, options);
  if (verifier) return err(verifier);
  if (options.judgeThreshold !== null && trace.judge && trace.judge.score < options.judgeThreshold) return err("below_judge_threshold");
  if (!wellFormed(trace.messages)) return err("malformed_conversation");
  const messages: RowMessage[] = [];
  const seen = new Map<string, number>();
  for (const m of trace.messages) {
    const converted = toRowMessage(m, options.keepReasoning);
    if (!converted) return err("invalid_tool_arguments");
    if (converted.role === "assistant") {
      for (const call of converted.tool_calls ?? []) {
        const key = `${call.function.name}\u0000${canonicalJson(JSON.parse(call.function.arguments))}`;
        const n = (seen.get(key) ?? 0) + 1;
        if (n > options.maxRepeatedToolCalls) return err("repeated_tool_call");
        seen.set(key, n);
      }
    }
    messages.push(converted);
  }
  return ok({
    messages,
    // Only what the row format has: a plugin's extra keys on a tool stay in its trace.
    tools: trace.tools.map((t) => ({ type: "function", function: { name: t.function.name, description: t.function.description, parameters: t.function.parameters } })),
    meta: { task_id: trace.task.id, sample: trace.sample, trace_item: item, model: trace.model.name, subagent: trace.subagent, ...(trace.verification ? { verified: trace.verification.passed } : {}) },
  });
}

/**
 * Why dataset.require_verified keeps a trace out, if it does: the verifier is the ground truth
 * of a task, checked before the judge so that a rollout the tests fail is never paid to grade.
 */
export function verifierDrop(trace: DatasetTrace, options: Pick<RowOptions, "requireVerified">): "verifier_failed" | "unverified" | undefined {
  if (!options.requireVerified) return undefined;
  if (!trace.verification) return "unverified";
  return trace.verification.passed ? undefined : "verifier_failed";
}

/** Undefined when a tool call's arguments are not a JSON object. */
function toRowMessage(m: TraceMessage, keepReasoning: boolean): RowMessage | undefined {
  const content = m.content ?? "";
  switch (m.role) {
    case "system":
    case "user":
      return { role: m.role, content };
    case "tool":
      return { role: "tool", tool_call_id: m.tool_call_id!, content };
    case "assistant": {
      const calls = [];
      for (const c of m.tool_calls ?? []) {
        const args = parseArguments(c.function.arguments);
        if (args === undefined) return undefined;
        calls.push({ id: c.id, type: "function" as const, function: { name: c.function.name, arguments: pythonJson(args) } });
      }
      return {
        role: "assistant",
        content,
        ...(keepReasoning && m.reasoning ? { reasoning_content: m.reasoning } : {}),
        ...(calls.length ? { tool_calls: calls } : {}),
      };
    }
  }
}

function parseArguments(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text.trim() === "" ? "{}" : text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * System (first, optional), then a user turn, then turns in which every tool call is answered by
 * one tool message with its id before the next assistant or user turn; the last message is the
 * assistant's. Training on anything else teaches the model a conversation it will never have.
 */
export function wellFormed(messages: TraceMessage[]): boolean {
  let i = messages[0]?.role === "system" ? 1 : 0;
  if (messages[i]?.role !== "user") return false;
  const pending = new Set<string>();
  for (; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role === "system") return false;
    if (m.role === "tool") {
      if (!m.tool_call_id || !pending.delete(m.tool_call_id)) return false;
      continue;
    }
    if (pending.size) return false;
    if (m.role === "assistant") {
      for (const c of m.tool_calls ?? []) {
        if (pending.has(c.id)) return false;
        pending.add(c.id);
      }
    }
  }
  return pending.size === 0 && messages.at(-1)?.role === "assistant";
}
