/**
 * How a subagent's requests are routed between its student and its teacher (`route:` in
 * subagents.yaml), resolved for the gateway and the MCP server. A leaf module: the gateway,
 * the CLI and the router stage all read it without loading each other.
 */

export type RoutePolicyName = "student" | "teacher" | "fallback" | "cascade" | "learned";

/** The checks a cascade runs on the student's answer before it is returned. */
export interface CascadeChecks {
  /** The output contract's tag must hold in a final reply. */
  contract: boolean;
  /** Turn cap and repeated identical tool calls over the conversation so far. */
  hardChecks?: { maxTurns: number; maxRepeatedToolCalls: number };
  /** Lowest mean token probability (from llama-server's logprobs) the student may answer with. */
  minConfidence?: number;
  /** Lowest judge score (0..1) of a final answer. */
  minJudgeScore?: number;
  /** any: one failing check escalates; all: every configured check must fail. */
  combine: "any" | "all";
}

export interface RoutePolicy {
  name: RoutePolicyName;
  /** Which student failures go to the teacher under fallback (and cascade, learned). */
  escalateOn: ReadonlySet<"error" | "timeout" | "contract">;
  checks: CascadeChecks;
  /** learned: the router's predicted success below which the teacher answers. */
  threshold: number;
}

/**
 * Why the model that answered did: a student answer says which gate it passed, a teacher answer
 * which check sent it there. Sent as `x-sabuild-route-reason` and recorded in the body.
 */
export type RouteReason =
  | "policy" // the policy names this model (student or teacher)
  | "passed" // fallback, cascade or learned: the student's answer passed every check
  | "no-student" // no exported student: the teacher answers
  | "router" // learned: the router predicted the student would fail
  | "error"
  | "timeout"
  | "contract"
  | "hard-checks"
  | "confidence"
  | "judge"
  | "passthrough"; // not a subagent's model: straight to the teacher

/** Today's behaviour: the student, with the teacher when it errors, times out or breaks the contract. */
export function fallbackPolicy(on: Iterable<"error" | "timeout" | "contract"> = ["error", "timeout", "contract"]): RoutePolicy {
  const escalateOn = new Set(on);
  return { name: "fallback", escalateOn, checks: { contract: escalateOn.has("contract"), combine: "any" }, threshold: 0.5 };
}

/** k of the learned router's nearest neighbours: a constant of the method, not a user's knob (route.threshold is). */
export const NEIGHBOURS = 5;
