import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { ok } from "../result.js";
import { NEIGHBOURS } from "../route/policy.js";
import type { Stage } from "./types.js";

/**
 * The benchmarks whose delegations a subagent's router reads: those offering it with an arm
 * besides routed (their `bench/<name>:runs` node; the routed arm is a node of its own, which a
 * learned policy's router feeds, so reading it would be a cycle), unless
 * route.learn_from_benchmarks is off. Upstream name `bench/<name>` -> node id.
 */
export function routerBenchmarks(project: ProjectConfig, subagent: ResolvedSubagent): Record<string, string> {
  if (!subagent.route.learn_from_benchmarks) return {};
  const out: Record<string, string> = {};
  for (const b of project.benchmarks) {
    if (b.subagents.includes(subagent.name) && b.arms.some((a) => a !== "routed")) out[`bench/${b.name}`] = `bench/${b.name}:runs`;
  }
  return out;
}

/**
 * The learned router of `route.policy: learned`: trained on eval's outcomes (held-out task ->
 * did the student succeed) and the student's delegations in the benchmarks offering the
 * subagent (delegation prompt -> did its answer serve: the run kept its contract and the task
 * resolved), written as router.json, with its cost-quality curve (curve.json, over eval's tasks
 * scored leave-one-out so a task never predicts itself; main-agent tokens from the
 * benchmarks' student and teacher arms). route.threshold is not an input: it is read when
 * serving, and `sabuild route calibrate` picks it from this curve.
 */
export function routerStage(): Stage {
  return {
    kind: "router",
    // 2: benchmark delegations among the outcomes; the curve's main-agent tokens from benchmarks.
    version: "2",
    deps: ["eval"],
    projectDeps: routerBenchmarks,
    async inputs({ project, subagent }) {
      const benchmarks = Object.keys(routerBenchmarks(project, subagent));
      return ok({
        params: {
          // The model and its one constant: another method or k is another router.
          method: "knn-bm25",
          k: NEIGHBOURS,
          // The benchmark traces are read by the delegations' subagent name (the name is in no
          // key otherwise); which benchmarks is in the upstream names.
          ...(benchmarks.length ? { delegations_of: subagent.name } : {}),
        },
        files: [],
      });
    },
    async run(ctx) {
      await (await import("./router-run.js")).runRouter(ctx);
    },
  };
}
