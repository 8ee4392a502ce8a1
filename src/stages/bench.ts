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
import type { Arm } from "../bench/types.js";
import type { ProjectStage } from "./types.js";

/**
 * A benchmark is four or five project-level nodes: `bench/<name>:tasks`, its task sources read
 * (and the arms and samples the items span); `bench/<name>:runs`, a map over (task, arm,
 * sample) of every arm but routed, whose items are the orchestrator's rollouts, each cached on
 * its own; `bench/<name>:routed`, the same map over the routed arm alone (when it is in);
 * `bench/<name>:bench`, which reads them and writes bench.json (figures per item, per arm, and
 * the paired comparisons); and `bench/<name>:report`, the page and markdown summary of
 * bench.json and the runs' traces. The routed arm has a node of its own because a learned
 * policy reads the subagent's router, which learns from the other arms' delegations
 * (`<subagent>:router` depends on `:runs`): in one node that would be a cycle.
 * Their implementations load only when they run.
 */
export function benchmarkStages(project: ProjectConfig): ProjectStage[] {
  return project.benchmarks.flatMap((b) => [
    tasksStage(b),
    ...(runArms(b, "runs").length ? [runsStage(project, b, "runs")] : []),
    ...(runArms(b, "routed").length ? [runsStage(project, b, "routed")] : []),
    summaryStage(b),
    reportStage(b),
  ]);
}

/** The two map nodes of a benchmark's items: every arm but routed, and routed alone. */
export type RunsNode = "runs" | "routed";

/** The arms whose items a runs node holds, in the benchmark's order. */
export function runArms(b: ResolvedBenchmark, node: RunsNode): Arm[] {
  return b.arms.filter((a) => (a === "routed") === (node === "routed"));
}

/** The runs nodes a benchmark has, by upstream name (as the bench and report nodes read them). */
export function runsNodes(b: ResolvedBenchmark): Record<string, string> {
  const out: Record<string, string> = {};
  for (const node of ["runs", "routed"] as const) if (runArms(b, node).length) out[node] = `bench/${b.name}:${node}`;
  return out;
}

/** The arms whose subagents are local models: they read each offered subagent's export. */
export const servesLocal = (arms: readonly Arm[]): boolean => arms.includes("student") || arms.includes("base") || arms.includes("routed");

/** The arms in which the subagents' teachers answer delegations (routed: those its policy escalates). */
const usesTeachers = (arms: readonly Arm[]): boolean => arms.includes("teacher") || arms.includes("routed");

function offered(project: ProjectConfig, b: ResolvedBenchmark): ResolvedSubagent[] {
  return b.subagents.map((name) => project.subagents.find((s) => s.name === name)!);
}

function runsStage(project: ProjectConfig, b: ResolvedBenchmark, node: RunsNode): ProjectStage {
  const scope = `bench/${b.name}`;
  const arms = runArms(b, node);
  const upstream: Record<string, string> = { tasks: `${scope}:tasks` };
  for (const s of offered(project, b)) {
    upstream[`${s.name}:import`] = `${s.name}:import`;
    if (servesLocal(arms)) upstream[`${s.name}:export`] = `${s.name}:export`;
    // The routed arm of a learned policy asks the subagent's router first.
    if (node === "routed" && s.route.policy === "learned") upstream[`${s.name}:router`] = `${s.name}:router`;
  }
  const deps = (): Record<string, string> => upstream;
  // The offered subagents' stand-in policies reach the teacher arm's items only, through their input.
  const mainFiles = new Set(teacherFiles(b.orchestrator));
  const teacherArmFiles = usesTeachers(arms) ? offered(project, b).flatMap((s) => teacherFiles(s.teacher)).filter((f) => !mainFiles.has(f)) : [];
  return {
    scope,
    kind: node,
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
      const bases = arms.includes("base") ? subs.map((s) => localModelDir(project.root, s.train.base_model)) : [];
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
          ...(usesTeachers(arms) ? { teachers: Object.fromEntries(subs.map((s) => [s.name, { ...(teacherParams(s.teacher) as { [k: string]: Json }), temperature: s.teacher.temperature }])) } : {}),
          // The routed arm: what decides between student and teacher (its items carry it too).
          ...(node === "routed" ? { routes: Object.fromEntries(subs.map((s) => [s.name, routedParams(s)])) } : {}),
        },
        // The stand-ins' policies; the base models' files (the base arm converts them).
        files: [
          ...teacherFiles(o),
          ...(usesTeachers(arms) ? subs.flatMap((s) => teacherFiles(s.teacher)) : []),
          ...bases.flatMap((dir) => localModelFiles(project.root, dir)),
        ],
        // The tools' behaviour, and the recipe by content (a shipped one lies outside the project).
        toolchain: { "agent-tools": TOOLS_VERSION, [`recipe:${b.sandbox.recipe}`]: contextDigest(found.dir, b.sandbox.base_image) },
      });
    },
    async estimate({ project }, run) {
      // Before the tasks node ran, count the entries of the task sources.
      const items = run.items ?? scanTaskSources(project.root, b.tasks.from).entries * arms.length * b.samples;
      return estimateBench(project, b, items, arms);
    },
    map: {
      // Every upstream reaches an item only through its input: a new task runs its own items, a
      // new student reruns the student arm alone.
      over: Object.keys(upstream),
      overFiles: teacherArmFiles,
      overParams: ["teachers"],
      async open(ctx) {
        return (await import("./bench-run.js")).openBenchRuns(ctx, b, arms);
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
    deps: () => runsNodes(b),
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
export function estimateBench(project: ProjectConfig, b: ResolvedBenchmark, items: number, arms: readonly Arm[] = b.arms): SpendEstimate {
  const o = b.orchestrator;
  const turns = Math.max(2, Math.ceil(o.max_turns / 2));
  // Claude Code's own system prompt and tool schemas make its first prompt larger: its requests
  // with six tools measured ~5.5k tokens (the example's fix-bugs-claude-code).
  const initialPromptTokens = o.kind === "claude-code" ? 6000 : 3000;
  const perCall = rolloutTokens({ turns, initialPromptTokens, completionTokensPerTurn: 300, toolResultTokensPerTurn: 800 });
  const parts = [estimateCost({ model: o.model, ...(o.pricing ? { pricing: o.pricing } : {}), calls: items * turns, ...perCall })];
  // The routed arm counted as the teacher's: at most every delegation escalates.
  if (usesTeachers(arms)) {
    const teacherItems = Math.round((items * arms.filter((a) => a === "teacher" || a === "routed").length) / arms.length);
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
    deps: () => ({ bench: `bench/${b.name}:bench`, ...runsNodes(b) }),
    async inputs() {
      // Nothing of the config: the page is a function of its two upstreams' outputs.
      return ok({ params: {}, files: [] });
    },
    async run(ctx) {
      await (await import("./bench-report.js")).writeBenchReport(ctx, b.name);
    },
  };
}

/**
 * What of a subagent's route: settings the routed arm reads: the policy, its checks, threshold
 * and drift, and the repeated-call cap of its hard checks. Whether the router learns from
 * benchmarks is the router's input: it reaches the routed arm through the router's output.
 */
export function routedParams(s: ResolvedSubagent): Json {
  const { learn_from_benchmarks: _, ...route } = s.route;
  return { ...route, max_repeated_tool_calls: s.dataset.max_repeated_tool_calls } as unknown as Json;
}
