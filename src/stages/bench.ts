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
import { scanTaskSources, taskSourceFiles } from "../tasks/formats/sources.js";
import { estimateRollouts } from "./traces.js";
import { estimateCost, rolloutTokens } from "../llm/pricing.js";
import type { SpendEstimate } from "../engine/types.js";
import type { ProjectStage } from "./types.js";

/**
 * A benchmark is four project-level nodes: `bench/<name>:tasks`, its task sources read (and
 * the arms and samples the items span);
 * `bench/<name>:runs`, a map over (task, arm, sample)
 * whose items are the orchestrator's rollouts, each cached on its own; and `bench/<name>:bench`,
 * which reads them and writes bench.json (figures per item, per arm, and the paired comparisons);
 * and `bench/<name>:report`, the page and markdown summary of bench.json and the runs' traces.
 * Their implementations load only when they run.
 */
export function benchmarkStages(project: ProjectConfig): ProjectStage[] {
  return project.benchmarks.flatMap((b) => [tasksStage(b), runsStage(project, b), summaryStage(b), reportStage(b)]);
}

/** The arms whose subagents are local models: they read each offered subagent's export. */
export const servesLocal = (b: ResolvedBenchmark): boolean => b.arms.includes("student") || b.arms.includes("base") || b.arms.includes("routed");

/** The arms in which the subagents' teachers answer delegations (routed: those its policy escalates). */
const usesTeachers = (b: ResolvedBenchmark): boolean => b.arms.includes("teacher") || b.arms.includes("routed");

function offered(project: ProjectConfig, b: ResolvedBenchmark): ResolvedSubagent[] {
  return b.subagents.map((name) => project.subagents.find((s) => s.name === name)!);
}

function runsStage(project: ProjectConfig, b: ResolvedBenchmark): ProjectStage {
  const scope = `bench/${b.name}`;
  const upstream: Record<string, string> = { tasks: `${scope}:tasks` };
  for (const s of offered(project, b)) {
    upstream[`${s.name}:import`] = `${s.name}:import`;
    if (servesLocal(b)) upstream[`${s.name}:export`] = `${s.name}:export`;
    // The routed arm of a learned policy asks the subagent's router first.
    if (b.arms.includes("routed") && s.route.policy === "learned") upstream[`${s.name}:router`] = `${s.name}:router`;
  }
  const deps = (): Record<string, string> => upstream;
  // The offered subagents' stand-in policies reach the teacher arm's items only, through their input.
  const mainFiles = new Set(teacherFiles(b.orchestrator));
  const teacherArmFiles = usesTeachers(b) ? offered(project, b).flatMap((s) => teacherFiles(s.teacher)).filter((f) => !mainFiles.has(f)) : [];
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
          // A CLI as the main agent: which one, and Claude Code's release (a new one reruns every item).
          orchestrator: {
            ...(teacherParams(o) as { [k: string]: Json }),
            temperature: o.temperature,
            tools: o.tools,
            max_turns: o.max_turns,
            instructions: o.instructions ?? null,
            kind: o.kind,
            ...(o.kind === "claude-code" ? { claude_code_version: o.claude_code_version } : {}),
            ...(o.kind === "command" ? { command: o.command ?? null, timeout_s: o.timeout_s } : {}),
            ...(o.kind === "claude-code" ? { timeout_s: o.timeout_s } : {}),
          },
          // Where tasks without an env run (and what repository environments build on).
          sandbox: { recipe: b.sandbox.recipe, base_image: b.sandbox.base_image },
          // Each offered subagent's own loop, whoever plays it: turn cap, contract, reply cap.
          loops: Object.fromEntries(subs.map((s) => [s.name, { max_turns: s.traces.max_turns, contract: s.traces.output_contract.tag, max_tokens: s.eval.max_tokens }])),
          // Who plays each offered subagent in the teacher arm (and routed's teacher): its items
          // carry it too (overParams), so a new teacher model reruns those items only.
          ...(usesTeachers(b) ? { teachers: Object.fromEntries(subs.map((s) => [s.name, { ...(teacherParams(s.teacher) as { [k: string]: Json }), temperature: s.teacher.temperature }])) } : {}),
          // The routed arm: what decides between student and teacher (its items carry it too).
          ...(b.arms.includes("routed") ? { routes: Object.fromEntries(subs.map((s) => [s.name, { ...s.route, max_repeated_tool_calls: s.dataset.max_repeated_tool_calls } as unknown as Json])) } : {}),
        },
        // The stand-ins' policies; the base models' files (the base arm converts them).
        files: [
          ...teacherFiles(o),
          ...(usesTeachers(b) ? subs.flatMap((s) => teacherFiles(s.teacher)) : []),
          ...bases.flatMap((dir) => localModelFiles(project.root, dir)),
        ],
        // The tools' behaviour, and the recipe by content (a shipped one lies outside the project).
        toolchain: { "agent-tools": TOOLS_VERSION, [`recipe:${b.sandbox.recipe}`]: contextDigest(found.dir, b.sandbox.base_image) },
      });
    },
    async estimate({ project }, run) {
      // Before the tasks node ran, count the entries of the task sources.
      const items = run.items ?? scanTaskSources(project.root, b.tasks.from).entries * b.arms.length * b.samples;
      return estimateBench(project, b, items);
    },
    map: {
      // Every upstream reaches an item only through its input: a new task runs its own items, a
      // new student reruns the student arm alone.
      over: Object.keys(upstream),
      overFiles: teacherArmFiles,
      overParams: ["teachers"],
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
      // The sources file by file; a named format reads the same bytes differently. The arms and
      // samples are listed here, not in the runs node's params (which every item's key holds):
      // a new arm or sample changes this output, so the runs node reopens and runs only the new items.
      return ok({ params: { format: b.tasks.format, from: b.tasks.from, arms: b.arms, samples: b.samples }, files: taskSourceFiles(project.root, b.tasks.from) });
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
    // 2: answer_tokens per item (what the delegations handed back, in tokens).
    version: "2",
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

/**
 * Rough spend of `items` benchmark items, spread evenly over the arms: the orchestrator's
 * rollout in every arm (half its turn cap, at least 2 calls; a larger first prompt than a
 * subagent's, with six tools and a task, larger still for Claude Code), plus, in the teacher arm, one delegation to each
 * offered subagent, estimated as that subagent's traces rollouts are. Local models cost no API money.
 */
export function estimateBench(project: ProjectConfig, b: ResolvedBenchmark, items: number): SpendEstimate {
  const o = b.orchestrator;
  const turns = Math.max(2, Math.ceil(o.max_turns / 2));
  // Claude Code's own system prompt and tool schemas make its first prompt larger: its requests
  // with six tools measured ~5.5k tokens (the example's fix-bugs-claude-code).
  const initialPromptTokens = o.kind === "claude-code" ? 6000 : 3000;
  const perCall = rolloutTokens({ turns, initialPromptTokens, completionTokensPerTurn: 300, toolResultTokensPerTurn: 800 });
  const parts = [estimateCost({ model: o.model, ...(o.pricing ? { pricing: o.pricing } : {}), calls: items * turns, ...perCall })];
  // The routed arm counted as the teacher's: at most every delegation escalates.
  if (usesTeachers(b)) {
    const teacherItems = Math.round((items * b.arms.filter((a) => a === "teacher" || a === "routed").length) / b.arms.length);
    parts.push(...offered(project, b).map((s) => estimateRollouts(s, teacherItems)));
  }
  return {
    calls: parts.reduce((n, p) => n + p.calls, 0),
    prompt_tokens: parts.reduce((n, p) => n + p.prompt_tokens, 0),
    completion_tokens: parts.reduce((n, p) => n + p.completion_tokens, 0),
    usd: parts.reduce((n, p) => n + p.usd, 0),
    priced: parts.every((p) => p.priced),
  };
}

function reportStage(b: ResolvedBenchmark): ProjectStage {
  return {
    scope: `bench/${b.name}`,
    kind: "report",
    version: "1",
    // The figures from bench.json; the traces the page opens, from the runs.
    deps: () => ({ bench: `bench/${b.name}:bench`, runs: `bench/${b.name}:runs` }),
    async inputs() {
      // Nothing of the config: the page is a function of its two upstreams' outputs.
      return ok({ params: {}, files: [] });
    },
    async run(ctx) {
      await (await import("./bench-report.js")).writeBenchReport(ctx, b.name);
    },
  };
}
