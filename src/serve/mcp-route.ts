import { hardChecks } from "../judge/hard-checks.js";
import { escalates } from "../route/checks.js";
import { fallbackPolicy, type RouteReason } from "../route/policy.js";
import type { Trace } from "../traces/types.js";
import type { StudentRoute } from "./routes.js";

/** A subagent as a whole-loop route sees it: who can play it, the policy, its router and judge. */
export type AgentRoute = Pick<StudentRoute, "name" | "policy" | "router" | "judge"> & { hasStudent: boolean; hasTeacher: boolean };

/** Who ran a delegation over MCP (or in the benchmark's routed arm), and why. */
export interface AgentRouted {
  trace: Trace;
  answeredBy: "student" | "teacher";
  reason: RouteReason;
  /** Why the student's run was not the answer, in words. */
  detail?: string;
}

type RunFailure = { reason: RouteReason; detail: string };

/** Why a student's finished loop is not its answer: the trace's own status first. */
function statusFailure(trace: Trace | undefined, error: string): RunFailure | undefined {
  if (!trace) return { reason: "error", detail: error };
  if (trace.status === "completed") return undefined;
  return { reason: trace.status === "turn_cap" ? "hard-checks" : trace.status === "error" ? "error" : "contract", detail: trace.error ?? trace.status };
}

/**
 * The route policy over a whole agent loop (MCP, the benchmark's routed arm): as the gateway's routeRequest does per turn,
 * but the checks read the finished trace. The contract and the turn cap are the trace's status;
 * hard checks add repeated tool calls; the judge grades the final answer. There is no token
 * confidence here (the loop's client does not ask for log-probabilities).
 */
export async function routeAgentRun(route: AgentRoute, prompt: string, run: (who: "student" | "teacher") => Promise<Trace>, log: (line: string) => void, signal: AbortSignal): Promise<AgentRouted> {
  const policy = route.policy ?? fallbackPolicy();
  const teacher = async (reason: RouteReason): Promise<AgentRouted> => ({ trace: await run("teacher"), answeredBy: "teacher", reason });
  if (!route.hasStudent) return teacher("no-student");
  if (policy.name === "teacher") return teacher("policy");
  if (policy.name === "learned" && route.router && route.router.score(prompt) < policy.threshold) return teacher("router");

  let trace: Trace | undefined;
  let error = "";
  try {
    trace = await run("student");
  } catch (e) {
    error = (e as Error).message;
  }
  if (policy.name === "student") {
    if (!trace) throw new Error(error);
    return { trace, answeredBy: "student", reason: "policy" };
  }
  const failures: RunFailure[] = [];
  let ran = 1;
  const status = statusFailure(trace, error);
  if (status) failures.push(status);
  if (trace && policy.name === "cascade") {
    const limits = policy.checks.hardChecks;
    if (limits) {
      ran++;
      const h = hardChecks(trace, { maxTurns: limits.maxTurns, maxRepeatedToolCalls: limits.maxRepeatedToolCalls });
      if (!h.repeated_tool_calls.ok) failures.push({ reason: "hard-checks", detail: h.failures.join("; ") });
    }
    if (policy.checks.minJudgeScore !== undefined && route.judge && trace.final_answer && !(policy.checks.combine === "any" && failures.length)) {
      ran++;
      const score = await route.judge(trace.messages.slice(0, -1), trace.messages.at(-1)?.content ?? trace.final_answer, signal).catch(() => 0);
      if (score < policy.checks.minJudgeScore) failures.push({ reason: "judge", detail: `judge score ${score.toFixed(2)} < ${policy.checks.minJudgeScore}` });
    }
  }
  const combine = policy.name === "cascade" ? policy.checks.combine : "any";
  if (route.hasTeacher && (escalates(failures, ran, combine) || !trace)) {
    const first = failures[0]!;
    log(`${route.name}: the student's run ${trace ? `failed ${first.reason} (${first.detail})` : `failed (${error})`}: the teacher runs it`);
    return { ...(await teacher(first.reason)), detail: failures.map((f) => f.detail).join("; ") };
  }
  if (!trace) throw new Error(error);
  return { trace, answeredBy: "student", reason: "passed" };
}
