import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Json } from "../engine/key.js";
import { Semaphore } from "../engine/semaphore.js";
import { envId } from "../envs/identity.js";
import { DEFAULT_ENV_ID, type TaskEnv } from "../envs/types.js";
import type { SandboxImage } from "../sandbox/types.js";
import type { ItemOutcome, MapItem, RunContext } from "./types.js";

interface EnvItemInput {
  /** Absent for the default environment: the subagent's recipe, keyed by the stage. */
  env?: TaskEnv;
  commit?: string;
  error?: string;
}

/**
 * Lists the distinct environments the subagent's tasks (train and held out) need, one item
 * each, and returns how to build one. The default environment (the subagent's recipe) is an
 * item when a task has no `env`, or when there are no tasks (serving still needs an image).
 */
export async function openEnvironments(ctx: RunContext): Promise<{ items: MapItem[]; runItem(ctx: RunContext, item: MapItem): Promise<ItemOutcome | void> }> {
  const { artifactOr, readHeldOutTasks, readTrainTasks } = await import("../artifacts/index.js");
  const tasksDir = ctx.upstream.tasks!.dir;
  const tasks = [...artifactOr(await readTrainTasks(tasksDir), "tasks", []), ...artifactOr(await readHeldOutTasks(tasksDir), "tasks", [])];
  const envs = new Map<string, TaskEnv | undefined>();
  for (const t of tasks) if (!envs.has(envId(t.env))) envs.set(envId(t.env), t.env);
  if (envs.size === 0) envs.set(DEFAULT_ENV_ID, undefined);
  const { resolveEnvInput } = await import("../envs/build.js");
  const items: MapItem[] = [];
  for (const [id, env] of [...envs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const input: EnvItemInput = env ? await resolveEnvInput(ctx.project, ctx.subagent, env) as EnvItemInput : {};
    items.push({ id, input: input as unknown as Json });
  }
  // Image builds are heavy (CPU, disk, the engine's build cache): fewer at once than rollouts.
  const builds = new Semaphore(ctx.subagent.sandbox.build_jobs);
  return {
    items,
    runItem: (itemCtx, item) =>
      builds.run(async () => {
        const input = item.input as unknown as EnvItemInput;
        if (input.error) throw new Error(`environment ${item.id}: ${input.error}`);
        await checkDiskBudget(itemCtx);
        const image = input.env ? await buildTaskEnv(itemCtx, item.id, input.env, input.commit) : await buildDefault(itemCtx);
        await writeFile(join(itemCtx.outDir, "image.json"), `${JSON.stringify(image, null, 2)}\n`);
        itemCtx.log(`environment ${item.id}: image ${image.tag} (${image.id.slice(7, 19)})`);
      }),
  };
}

async function buildTaskEnv(ctx: RunContext, id: string, env: TaskEnv, commit: string | undefined): Promise<SandboxImage> {
  const { environmentImage } = await import("../envs/build.js");
  return withHint(() => environmentImage(ctx.project, ctx.subagent, id, env, commit, { log: ctx.log, signal: ctx.signal }));
}

async function buildDefault(ctx: RunContext): Promise<SandboxImage> {
  const { buildRecipeImage } = await import("../sandbox/image.js");
  const { limitsFromConfig } = await import("../sandbox/limits.js");
  const s = ctx.subagent.sandbox;
  return withHint(() =>
    buildRecipeImage({
      recipe: s.recipe,
      projectRoot: ctx.project.root,
      baseImage: s.base_image,
      limits: limitsFromConfig(s),
      log: ctx.log,
      progress: (done, total) => ctx.progress({ done, total }),
      signal: ctx.signal,
    }),
  );
}

/** The renderer shows an error's message only: the hint must be part of it. */
async function withHint<T>(build: () => Promise<T>): Promise<T> {
  const { SandboxError } = await import("../sandbox/types.js");
  try {
    return await build();
  } catch (e) {
    if (e instanceof SandboxError && e.hint) throw new SandboxError(`${e.message}\nhint: ${e.hint}`);
    throw e;
  }
}

/**
 * `sandbox.disk_budget`: the images sabuild built may take this much; a build past it stops.
 * Counted from the engine's sizes of every image labelled as ours (layers they share are
 * counted once per image, so the figure errs on the safe side).
 */
async function checkDiskBudget(ctx: RunContext): Promise<void> {
  const budget = ctx.subagent.sandbox.disk_budget;
  if (!budget) return;
  const { parseMemory } = await import("../sandbox/limits.js");
  const { managedImagesSize } = await import("../sandbox/gc-images.js");
  const used = await managedImagesSize();
  const limit = parseMemory(budget);
  if (used >= limit) {
    throw new Error(
      `sandbox images take ${(used / 1024 ** 3).toFixed(2)} GiB, at or past sandbox.disk_budget ${budget}\nhint: run \`sabuild gc --images\` to remove images no result uses, or raise subagents.${ctx.subagent.name}.sandbox.disk_budget`,
    );
  }
}
