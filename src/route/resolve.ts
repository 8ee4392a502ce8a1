import type { ResolvedSubagent } from "../config/index.js";
import type { RoutePolicy } from "./policy.js";

/**
 * A subagent's `route:` section as the gateway applies it. `fallbackOn` (serve's --fallback)
 * says which student failures reach the teacher under every policy that has one.
 */
export function routePolicy(subagent: ResolvedSubagent, fallbackOn: ReadonlyArray<"error" | "timeout" | "contract">): RoutePolicy {
  const r = subagent.route;
  const escalateOn = new Set(fallbackOn);
  const cascade = r.policy === "cascade";
  return {
    name: r.policy,
    escalateOn,
    checks: {
      contract: cascade ? r.checks.contract : escalateOn.has("contract"),
      ...(cascade && r.checks.hard_checks ? { hardChecks: { maxTurns: subagent.traces.max_turns, maxRepeatedToolCalls: subagent.dataset.max_repeated_tool_calls } } : {}),
      ...(cascade && r.checks.min_confidence !== undefined ? { minConfidence: r.checks.min_confidence } : {}),
      ...(cascade && r.checks.min_judge_score !== undefined ? { minJudgeScore: r.checks.min_judge_score } : {}),
      combine: cascade ? r.checks.combine : "any",
    },
    threshold: r.threshold,
  };
}
