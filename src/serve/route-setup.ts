import type { ResolvedSubagent } from "../config/index.js";
import type { Session } from "../project.js";
import type { RoutePolicy } from "../route/policy.js";
import { routePolicy } from "../route/resolve.js";
import { nodeOutput } from "./node-output.js";
import type { StudentRoute } from "./routes.js";

/**
 * What a subagent's route needs beyond its model servers: its policy from `route:`, the judge
 * of a judge-checked cascade, the router of a learned policy (the `<name>:router` output). A
 * learned policy without a built router serves as fallback, with a warning.
 */
export async function routeSetup(session: Session, subagent: ResolvedSubagent, fallbackOn: ReadonlyArray<"error" | "timeout" | "contract">, log: (line: string) => void): Promise<Pick<StudentRoute, "policy" | "judge" | "router" | "drift">> {
  let policy: RoutePolicy = routePolicy(subagent, fallbackOn);
  const out: Pick<StudentRoute, "policy" | "judge" | "router" | "drift"> = {};
  let expected: number | undefined;
  // Checks are a cascade's: set under another policy they would silently do nothing.
  const c = subagent.route.checks;
  const unused = [c.hard_checks ? "hard_checks" : "", c.min_confidence !== undefined ? "min_confidence" : "", c.min_judge_score !== undefined ? "min_judge_score" : ""].filter(Boolean);
  if (policy.name !== "cascade" && unused.length) log(`warning: ${subagent.name}: route.checks.${unused.join(", ")} apply to route.policy: cascade only; its policy is ${policy.name}`);
  if (policy.checks.minJudgeScore !== undefined) {
    const { cascadeJudge } = await import("../route/judge-check.js");
    out.judge = await cascadeJudge(session.project, subagent, log);
  }
  if (policy.name === "learned") {
    const router = await nodeOutput(session, `${subagent.name}:router`);
    const loaded = typeof router === "string" ? router : await (await import("../route/router.js")).readRouter(router.dir);
    if (typeof loaded === "string") {
      log(`warning: ${subagent.name}'s route policy is learned but ${loaded}; serving it as fallback until then`);
      policy = { ...policy, name: "fallback" };
    } else {
      out.router = loaded;
      expected = typeof router === "string" ? undefined : await curveEscalation(router.dir, policy.threshold);
    }
  }
  if (policy.name === "fallback" || policy.name === "cascade") expected = await evalEscalation(session, subagent.name);
  if (policy.name === "student") expected = 0;
  if (expected !== undefined) out.drift = { expected, window: subagent.route.drift.window, margin: subagent.route.drift.margin };
  out.policy = policy;
  return out;
}

/** Whether the policy can send a request to the teacher, so the teacher's endpoint must be resolved. */
export function needsTeacher(policy: RoutePolicy): boolean {
  return policy.name !== "student" && (policy.name !== "fallback" || policy.escalateOn.size > 0);
}

/** The learned router's share sent to the teacher at the threshold, on eval's tasks (the curve's nearest point at or below it). */
async function curveEscalation(dir: string, threshold: number): Promise<number | undefined> {
  const { readCurve } = await import("../artifacts/index.js");
  const curve = await readCurve(dir);
  if (!curve.ok || curve.value.tasks === 0) return undefined;
  const below = curve.value.points.filter((p) => p.threshold <= threshold + 1e-9);
  return below.at(-1)?.escalated;
}

/** Under fallback or a cascade the teacher answers about where the student failed eval's tasks. */
async function evalEscalation(session: Session, name: string): Promise<number | undefined> {
  const out = await nodeOutput(session, `${name}:eval`);
  if (typeof out === "string") return undefined;
  const { readEvalResult } = await import("../artifacts/index.js");
  const ev = await readEvalResult(out.dir);
  const student = ev.ok ? ev.value.models.student : undefined;
  return student ? 1 - student.success_rate : undefined;
}
