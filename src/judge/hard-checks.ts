import { canonicalJson } from "../engine/key.js";
import type { Trace, TraceStatus } from "../traces/types.js";

/**
 * Checks that need no model: what the rollout recorded and what its messages show. Pure
 * functions of the trace, so the dataset can filter by them before spending on a judge.
 */

export interface HardCheckLimits {
  /** The turn cap the rollout ran under (traces.max_turns). */
  maxTurns: number;
  /** How often one identical tool call may appear (dataset.max_repeated_tool_calls). */
  maxRepeatedToolCalls: number;
  /** Highest tolerated fraction of failed tool calls; unset: reported, never failing. */
  maxToolErrorRate?: number;
}

export interface RepeatedCall {
  name: string;
  arguments: string;
  count: number;
}

export interface HardChecks {
  ok: boolean;
  /** One line per failed check, for logs and the dataset's rejection report. */
  failures: string[];
  status: { ok: boolean; value: TraceStatus };
  contract: { ok: boolean; reason?: string };
  turns: { ok: boolean; value: number; cap: number };
  tool_errors: { ok: boolean; errors: number; calls: number; rate: number; limit?: number };
  repeated_tool_calls: {
    ok: boolean;
    limit: number;
    /** The call made most often with identical arguments (none without tool calls). */
    most: RepeatedCall | null;
    /** Longest run of the same call back to back. */
    longest_run: number;
  };
}

/** Arguments compared as parsed JSON, so key order and spacing do not hide a repeat. */
function callIdentity(name: string, raw: string): string {
  try {
    return `${name}\u0000${canonicalJson(JSON.parse(raw))}`;
  } catch {
    return `${name}\u0000${raw.trim()}`;
  }
}

/** The tool call repeated most with identical arguments, and the longest back-to-back run. */
export function repeatedToolCalls(trace: Pick<Trace, "messages">): { most: RepeatedCall | null; longestRun: number } {
  const counts = new Map<string, RepeatedCall>();
  let most: RepeatedCall | null = null;
  let longestRun = 0;
  let run = 0;
  let previous: string | undefined;
  for (const m of trace.messages) {
    for (const call of m.tool_calls ?? []) {
      const id = callIdentity(call.function.name, call.function.arguments);
      const entry = counts.get(id) ?? { name: call.function.name, arguments: call.function.arguments, count: 0 };
      entry.count++;
      counts.set(id, entry);
      if (!most || entry.count > most.count) most = entry;
      run = id === previous ? run + 1 : 1;
      previous = id;
      longestRun = Math.max(longestRun, run);
    }
  }
  return { most: most && { ...most }, longestRun };
}

export function hardChecks(trace: Trace, limits: HardCheckLimits): HardChecks {
  const failures: string[] = [];

  const status = { ok: trace.status === "completed", value: trace.status };
  if (!status.ok) failures.push(`status is ${trace.status}${trace.error ? `: ${trace.error}` : ""}`);

  const contract = { ok: trace.contract.ok, ...(!trace.contract.ok && trace.error ? { reason: trace.error } : {}) };
  if (!contract.ok) failures.push(`output contract <${trace.contract.tag}> not held`);

  const turns = { ok: trace.turns <= limits.maxTurns, value: trace.turns, cap: limits.maxTurns };
  if (!turns.ok) failures.push(`${trace.turns} turns, over the cap of ${limits.maxTurns}`);

  const rate = trace.tool_calls > 0 ? Math.round((trace.tool_errors / trace.tool_calls) * 10_000) / 10_000 : 0;
  const errorsOk = limits.maxToolErrorRate === undefined || rate <= limits.maxToolErrorRate;
  const toolErrors = {
    ok: errorsOk,
    errors: trace.tool_errors,
    calls: trace.tool_calls,
    rate,
    ...(limits.maxToolErrorRate !== undefined ? { limit: limits.maxToolErrorRate } : {}),
  };
  if (!errorsOk) failures.push(`${trace.tool_errors} of ${trace.tool_calls} tool calls failed (rate ${rate}, limit ${limits.maxToolErrorRate})`);

  const { most, longestRun } = repeatedToolCalls(trace);
  const repeatsOk = (most?.count ?? 0) <= limits.maxRepeatedToolCalls;
  if (!repeatsOk && most) {
    const args = most.arguments.length > 120 ? `${most.arguments.slice(0, 119)}…` : most.arguments;
    failures.push(`looping: ${most.name} ${args} called ${most.count} times (limit ${limits.maxRepeatedToolCalls})`);
  }

  return {
    ok: failures.length === 0,
    failures,
    status,
    contract,
    turns,
    tool_errors: toolErrors,
    repeated_tool_calls: { ok: repeatsOk, limit: limits.maxRepeatedToolCalls, most, longest_run: longestRun },
  };
}
