import type { ResolvedBenchmark } from "../config/benchmark-schema.js";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Json } from "../engine/key.js";
import type { Problem } from "../errors.js";
import { teacherFiles, teacherParams } from "../llm/teacher-params.js";
import { err, ok } from "../result.js";
import { contextDigest, locateRecipe } from "../sandbox/recipe.js";
import { TOOLS_VERSION } from "../tools/version.js";
import { configName } from "./config-name.js";
import { localModelDir, localModelFiles } from "./export.js";
import { taskSourceFiles } from "../tasks/formats/sources.js";
import type { ProjectStage } from "./types.js";

/**
 * A benchmark is three project-level nodes: `bench/<name>:tasks`, its task sources read;
 * `bench/<name>:runs`, a map over (task, arm, sample)
 * whose items are the orchestrator's rollouts, each cached on its own; and `bench/<name>:bench`,
 * which reads them and writes bench.json (figures per item, per arm, and the paired comparisons).
 * Their implementations load only when they run.
 */
export function benchmarkStages(project: ProjectConfig): ProjectStage[] {
  return project.benchmarks.flatMap((b) => [tasksStage(b), runsStage(project, b), summaryStage(b)]);
}

/** The arms whose subagents are local models: they read each offered subagent's export. */
export const servesLocal = (b: ResolvedBenchmark): boolean => b.arms.includes("student") || b.arms.includes("base");

function offered(project: ProjectConfig, b: ResolvedBenchmark): ResolvedSubagent[] {
  return b.subagents.map((name) => project.subagents.find((s) => s.name === name)!);
}

function runsStage(project: ProjectConfig, b: ResolvedBenchmark): ProjectStage {
  const scope = `bench/${b.name}`;
  const upstream: Record<string, string> = { tasks: `${scope}:tasks` };
  for (const s of offered(project, b)) {
    upstream[`${s.name}:import`] = `${s.name}:import`;
    if (servesLocal(b)) upstream[`${s.name}:export`] = `${s.name}:export`;
  }
  const deps = (): Record<string, string> => upstream;
  // The offered subagents' stand-in policies reach the teacher arm's items only, through their input.
  const mainFiles = new Set(teacherFiles(b.orchestrator));
  const teacherArmFiles = b.arms.includes("teacher") ? offered(project, b).flatMap((s) => teacherFiles(s.teacher)).filter((f) => !mainFiles.has(f)) : [];
  return {
    scope,
    kind: "runs",
    version: "1",
    deps,
    async inputs({ project }) {
      const found = locateRecipe(b.sandbox.recipe, project.root);
      if (!found) {
        const problem: Problem = { file: configName(project), line: 0, column: 0, keyPath: ["benchmarks", b.name, "sandbox", "recipe"], message: `unknown sandbox recipe "${b.sandbox.recipe}"` };
        return err([problem]);
      }
      const o = b.orchestrator;
      const subs = offered(project, b);
      const bases = b.arms.includes("base") ? subs.map((s) => localModelDir(project.root, s.train.base_model)) : [];
      return ok({
        params: {
          // Who plays the main agent, with what tools, turn cap, instructions and sampling.
          orchestrator: { ...(teacherParams(o) as { [k: string]: Json }), temperature: o.temperature, tools: o.tools, max_turns: o.max_turns, instructions: o.instructions ?? null },
          // Where tasks without an env run (and what repository environments build on).
          sandbox: { recipe: b.sandbox.recipe, base_image: b.sandbox.base_image },
          // Each offered subagent's own loop, whoever plays it: turn cap, contract, reply cap.
          loops: Object.fromEntries(subs.map((s) => [s.name, { max_turns: s.traces.max_turns, contract: s.traces.output_contract.tag, max_tokens: s.eval.max_tokens }])),
        },
        // The stand-ins' policies; the base models' files (the base arm converts them).
        files: [
          ...teacherFiles(o),
          ...(b.arms.includes("teacher") ? subs.flatMap((s) => teacherFiles(s.teacher)) : []),
          ...bases.flatMap((dir) => localModelFiles(project.root, dir)),
        ],
        // The tools' behaviour, and the recipe by content (a shipped one lies outside the project).
        toolchain: { "agent-tools": TOOLS_VERSION, [`recipe:${b.sandbox.recipe}`]: contextDigest(found.dir, b.sandbox.base_image) },
      });
    },
    map: {
      // Every upstream reaches an item only through its input: a new task runs its own items, a
      // new student reruns the student arm alone.
      over: Object.keys(upstream),
      overFiles: teacherArmFiles,
      async open(ctx) {
        return (await import("./bench-run.js")).openBenchRuns(ctx, b);
      },
    },
  };
}

function tasksStage(b: ResolvedBenchmark): ProjectStage {
  return {
    scope: `bench/${b.name}`,
    kind: "tasks",
    version: "1",
    deps: () => ({}),
    async inputs({ project }) {
      // The sources file by file; a named format reads the same bytes differently.
      return ok({ params: { format: b.tasks.format, from: b.tasks.from }, files: taskSourceFiles(project.root, b.tasks.from) });
    },
    async run(ctx) {
      await (await import("./bench-tasks.js")).writeBenchTasks(ctx, b);
    },
  };
}

function summaryStage(b: ResolvedBenchmark): ProjectStage {
  return {
    scope: `bench/${b.name}`,
    kind: "bench",
    version: "1",
    deps: () => ({ runs: `bench/${b.name}:runs` }),
    async inputs() {
      // The serving cost prices the local models' time; the arms name the comparisons.
      return ok({ params: { serving: (b.serving ?? null) as Json, arms: b.arms }, files: [] });
    },
    async run(ctx) {
      await (await import("./bench-summary.js")).writeBenchSummary(ctx, b);
    },
  };
}
