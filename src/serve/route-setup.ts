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
export async function routeSetup(session: Session, subagent: ResolvedSubagent, fallbackOn: ReadonlyArray<"error" | "timeout" | "contract">, log: (line: string) => void): Promise<Pick<StudentRoute, "policy" | "judge" | "router">> {
  let policy: RoutePolicy = routePolicy(subagent, fallbackOn);
  const out: Pick<StudentRoute, "policy" | "judge" | "router"> = {};
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
    } else out.router = loaded;
  }
  out.policy = policy;
  return out;
}

/** Whether the policy can send a request to the teacher, so the teacher's endpoint must be resolved. */
export function needsTeacher(policy: RoutePolicy): boolean {
  return policy.name !== "student" && (policy.name !== "fallback" || policy.escalateOn.size > 0);
}
