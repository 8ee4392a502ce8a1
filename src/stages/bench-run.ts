import { writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResolvedBenchmark } from "../config/benchmark-schema.js";
import type { Json } from "../engine/key.js";
import type { MapItem, OpenedMap, RunHooks } from "../engine/types.js";
import { envId } from "../envs/identity.js";
import { DEFAULT_ENV_ID, type TaskEnv, type Verifier } from "../envs/types.js";
import type { Arm } from "../bench/types.js";
import type { SandboxImage } from "../sandbox/types.js";
import { readBenchGrid, readBenchTasks } from "./bench-tasks.js";
import { openArmPlayers, type ArmPlayers, type SharedPlayers } from "./bench-players.js";
import { Meter } from "../llm/accounting.js";
import type { OpenedTeacher } from "../llm/teacher.js";
import { teacherFiles, teacherParams } from "../llm/teacher-params.js";
import type { ProjectContext } from "./types.js";

/** One (task, arm, sample): everything its result depends on beyond the stage's params. */
export interface BenchItemInput {
  task: { id: string; prompt: string; tags: string[] };
  /** The task's environment: its id, and what it resolved to (commit, recipe and Dockerfile digests). */
  env: { id: string; spec?: TaskEnv; resolved?: { [key: string]: Json } };
  verify?: Verifier;
  arm: Arm;
  sample: number;
  /** Who plays the offered subagents in this arm, by digest: a new student changes the student arm's items only. */
  players: { [subagent: string]: Json };
}

/**
 * Lists the benchmark's items (task x arm x sample) and returns how to run one: the
 * orchestrator's rollout in a fresh container of the task's environment, delegating to the
 * offered subagents played by the arm's models. What items share lives in this closure and
 * starts on first use (each environment's image, the orchestrator's client, each arm's model
 * servers), so a build whose items are all cached starts nothing; close() stops the servers.
 */
export async function openBenchRuns(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark, nodeArms: readonly Arm[]): Promise<OpenedMap<ProjectContext>> {
  const { project } = ctx;
  const scope = `bench/${b.name}`;
  const tasks = await readBenchTasks(ctx.upstream.tasks!.dir);
  // The arms and samples as the tasks node listed them: this node's key sees them through its output.
  // This node's share of them: the routed arm has a node of its own (stages/bench.ts).
  const listed = await readBenchGrid(ctx.upstream.tasks!.dir);
  const grid = { ...listed, arms: listed.arms.filter((a) => nodeArms.includes(a)) };
  const { resolveEnvInput } = await import("../envs/build.js");
  const envs = new Map<string, { spec?: TaskEnv; resolved?: { [key: string]: Json } }>();
  for (const t of tasks) {
    const id = envId(t.env);
    if (!envs.has(id)) envs.set(id, t.env ? { spec: t.env, resolved: await resolveEnvInput(project, b, t.env) } : {});
  }
  const players = Object.fromEntries(grid.arms.map((arm) => [arm, armInput(ctx, b, arm)]));
  const items: MapItem[] = [];
  for (const t of tasks) {
    const env = { id: envId(t.env), ...envs.get(envId(t.env)) };
    for (const arm of grid.arms) {
      for (let sample = 0; sample < grid.samples; sample++) {
        const input: BenchItemInput = { task: { id: t.id, prompt: t.prompt, tags: t.tags }, env, ...(t.verify ? { verify: t.verify } : {}), arm, sample, players: players[arm]! };
        items.push({ id: `${t.id}.${arm}.s${sample}`, input: input as unknown as Json });
      }
    }
  }

  const images = new Map<string, Promise<SandboxImage>>();
  const image = (env: BenchItemInput["env"], log: (line: string) => void, signal: AbortSignal): Promise<SandboxImage> => {
    let found = images.get(env.id);
    if (!found) {
      found = buildImage(ctx, b, env, log, signal);
      images.set(env.id, found);
    }
    return found;
  };
  let work: Promise<string> | undefined;
  let main: Promise<OpenedTeacher> | undefined;
  const meter = new Meter();
  const shared = async (): Promise<SharedPlayers> => ({
    meter,
    work: await (work ??= mkdtemp(join(tmpdir(), "sabuild-bench-"))),
    main: () => (main ??= openOrchestrator(ctx, b, meter)),
  });
  const armPlayers = new Map<Arm, Promise<ArmPlayers>>();
  const playersOf = (arm: Arm): Promise<ArmPlayers> => {
    let p = armPlayers.get(arm);
    if (!p) {
      p = shared().then((sh) => openArmPlayers(ctx, b, arm, sh));
      armPlayers.set(arm, p);
    }
    return p;
  };
  // A CLI as the main agent (kind claude-code or command) runs its items its own way.
  const cli = b.orchestrator.kind === "builtin" ? undefined : (await import("./bench-cli.js")).cliRunner(ctx, b, async () => (await shared()).work);
  let done = 0;
  // Container removals under way; the node waits for all of them before it ends.
  const closing = new Set<Promise<void>>();
  return {
    items,
    async runItem(itemCtx, item) {
      const input = item.input as unknown as BenchItemInput;
      // Both start with the node's first items: the image's checks wait on Docker while the
      // players load the model client and start the stand-ins, so neither waits for the other.
      const [img, arm] = await Promise.all([image(input.env, itemCtx.log, itemCtx.signal), playersOf(input.arm)]);
      const verify = input.verify ? verifierOf(input.verify, itemCtx.signal) : undefined;
      const trace = cli
        ? await cli.run(input, img, arm, { signal: itemCtx.signal, ...(verify ? { verify } : {}) })
        : await orchestrateBuiltin(input, img, arm, itemCtx.signal, verify);
      const text = `${JSON.stringify(trace, null, 1)}\n`;
      // A trace of a few KiB is written in place, not through the thread pool (see store/atomic.ts).
      if (text.length <= 64 * 1024) writeFileSync(join(itemCtx.outDir, "trace.json"), text);
      else await writeFile(join(itemCtx.outDir, "trace.json"), text);
      itemCtx.progress({ done: ++done, total: items.length, costUsd: arm.meter.total().cost_usd });
      const verdict = trace.verification ? (trace.verification.passed ? "resolved" : "not resolved") : "no verifier";
      itemCtx.log(`${scope} ${item.id}: ${trace.status}${trace.error ? ` (${trace.error.slice(0, 300)})` : ""}, ${verdict}, ${trace.turns} turns, ${trace.delegations.length} delegations`);
    },
    async close() {
      // A removal that failed is said, not fatal: the items are done, and what is left of the
      // container is removed at exit or reaped by the next sabuild (sandbox/cleanup.ts).
      for (const r of await Promise.allSettled(closing)) if (r.status === "rejected") ctx.log(`${scope}: ${(r.reason as Error).message}`);
      const opened = await Promise.allSettled([...armPlayers.values()]);
      for (const o of opened) if (o.status === "fulfilled") await o.value.close();
      await cli?.close();
      if (work) await rm(await work, { recursive: true, force: true });
    },
  };

  async function orchestrateBuiltin(input: BenchItemInput, img: SandboxImage, arm: ArmPlayers, signal: AbortSignal, verify: ReturnType<typeof verifierOf> | undefined) {
    const { orchestrate } = await import("../bench/orchestrator.js");
    // Opened for every arm when the orchestrator is the built-in loop.
    if (!arm.main) throw new Error("the built-in orchestrator has no client");
    return orchestrate({
      arm: input.arm,
      task: input.task,
      sample: input.sample,
      ...(b.orchestrator.instructions ? { instructions: b.orchestrator.instructions } : {}),
      tools: arm.mainTools,
      offered: arm.offered,
      maxTurns: b.orchestrator.max_turns,
      client: arm.main.client,
      model: { ...arm.main.identity, role: "orchestrator" },
      sampling: { temperature: b.orchestrator.temperature, max_tokens: b.orchestrator.max_tokens },
      image: img,
      ...(input.env.id !== DEFAULT_ENV_ID ? { env: input.env.id } : {}),
      openSandbox: () => arm.openSandbox(img, signal),
      ...(verify ? { verify } : {}),
      // The item is done when its verdict is in: the container goes while the next item starts.
      onClosing: (p) => void closing.add(p),
      signal,
    });
  }
}

/** The main agent's client: configured like a teacher (a stand-in policy, or any OpenAI-compatible endpoint). */
async function openOrchestrator(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark, meter: Meter): Promise<OpenedTeacher> {
  const { openTeacher } = await import("../llm/teacher.js");
  return openTeacher(ctx.project, { name: `bench/${b.name}`, teacher: b.orchestrator }, { stage: `bench/${b.name}`, meter, log: ctx.log, configKey: `benchmarks.${b.name}.orchestrator`, role: "orchestrator" });
}

function verifierOf(verify: Verifier, signal: AbortSignal) {
  return async (box: import("../sandbox/types.js").SandboxSession) => (await import("../verify/run.js")).runVerifier(box, verify, { signal });
}

/**
 * What plays the offered subagents in an arm, as the items' key sees it: their import output
 * (instructions, tools) in every arm but none, plus the teacher's settings, the student's
 * export, or the base model and its GGUF type. The upstream digests come from the run hooks.
 */
function armInput(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark, arm: Arm): { [subagent: string]: Json } {
  if (arm === "none") return {};
  const out: { [subagent: string]: Json } = {};
  for (const name of b.subagents) {
    const s = ctx.project.subagents.find((x) => x.name === name)!;
    const imported = ctx.upstream[`${name}:import`]!.digest;
    const teacher = (): { [k: string]: Json } => ({
      teacher: teacherParams(s.teacher),
      temperature: s.teacher.temperature,
      files: Object.fromEntries(teacherFiles(s.teacher).map((f) => [f, ctx.fileDigests?.[f] ?? null])),
    });
    if (arm === "teacher") out[name] = { import: imported, ...teacher() };
    else if (arm === "routed") {
      // Both players, and everything that decides between them: the policy, its checks and
      // threshold, the router (learned), the judge (a judged cascade).
      const router = ctx.upstream[`${name}:router`]?.digest ?? null;
      const judge = s.route.policy === "cascade" && s.route.checks.min_judge_score !== undefined ? { model: s.eval.judge?.model ?? s.teacher.model, base_url: s.eval.judge?.base_url ?? s.teacher.base_url } : null;
      const { learn_from_benchmarks: _, ...route } = s.route;
      out[name] = { import: imported, export: ctx.upstream[`${name}:export`]!.digest, max_tokens: s.eval.max_tokens, ...teacher(), route: route as unknown as Json, router, judge, max_turns: s.traces.max_turns, max_repeated_tool_calls: s.dataset.max_repeated_tool_calls };
    }
    else if (arm === "student") out[name] = { import: imported, export: ctx.upstream[`${name}:export`]!.digest, max_tokens: s.eval.max_tokens };
    else out[name] = { import: imported, base_model: s.train.base_model, outtype: s.export.gguf_outtype, max_tokens: s.eval.max_tokens };
  }
  return out;
}

async function buildImage(ctx: ProjectContext, b: ResolvedBenchmark, env: BenchItemInput["env"], log: (line: string) => void, signal: AbortSignal): Promise<SandboxImage> {
  if (env.resolved?.error) throw new Error(`environment ${env.id}: ${String(env.resolved.error)}`);
  if (env.spec) {
    const { environmentImage } = await import("../envs/build.js");
    const commit = typeof env.resolved?.commit === "string" ? env.resolved.commit : undefined;
    return environmentImage(ctx.project, b, env.id, env.spec, commit, { log, signal });
  }
  const { buildRecipeImage } = await import("../sandbox/image.js");
  const { limitsFromConfig } = await import("../sandbox/limits.js");
  return buildRecipeImage({ recipe: b.sandbox.recipe, projectRoot: ctx.project.root, baseImage: b.sandbox.base_image, limits: limitsFromConfig(b.sandbox), log, signal });
}
