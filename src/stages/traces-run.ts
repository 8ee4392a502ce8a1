import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Budget, Meter } from "../llm/accounting.js";
import { openTeacher, type OpenedTeacher } from "../llm/teacher.js";
import { BudgetExceededError } from "../llm/types.js";
import { openAgentRun, readAgentFiles } from "../traces/agent-run.js";
import type { Trace } from "../traces/types.js";
import { envId } from "../envs/identity.js";
import { DEFAULT_ENV_ID, type Verifier } from "../envs/types.js";
import type { BuiltEnvironment } from "../artifacts/image.js";
import type { ItemOutcome, MapItem, RunContext } from "./types.js";

interface ItemInput {
  task: { id: string; prompt: string; tags: string[] };
  sample: number;
  /** The task's environment: the item needs that sandbox item, whose output digest joins its key. */
  env: string;
  verify?: Verifier;
}

/**
 * Lists the traces items and returns how to roll one out. The teacher, the meter and the
 * budget are shared by this run's items, in this closure; the teacher and the image start on
 * the first item that runs, so a build whose items are all cached touches neither. Each item
 * needs its environment's sandbox item only: it starts as soon as that image is built, and a
 * failed environment fails its own tasks' rollouts, not the others'.
 */
export async function openTraces(ctx: RunContext): Promise<{ items: MapItem[]; runItem(ctx: RunContext, item: MapItem): Promise<ItemOutcome | void> }> {
  const { artifactOr, readTrainTasks } = await import("../artifacts/index.js");
  const tasks = artifactOr(await readTrainTasks(ctx.upstream.tasks!.dir), "tasks", []);
  const files = await readAgentFiles(ctx.upstream.import!.dir);
  const items: MapItem[] = [];
  for (const task of tasks) {
    const env = envId(task.env);
    for (let sample = 0; sample < ctx.subagent.traces.samples_per_task; sample++) {
      const input: ItemInput = { task: { id: task.id, prompt: task.prompt, tags: task.tags }, sample, env, ...(task.verify ? { verify: task.verify } : {}) };
      items.push({ id: `${task.id}.s${sample}`, input: input as unknown as MapItem["input"], needs: { sandbox: env } });
    }
  }
  const agent = openAgentRun(files, { project: ctx.project, subagent: ctx.subagent, log: ctx.log, signal: ctx.signal });
  const meter = new Meter();
  const b = ctx.subagent.traces.budget;
  const budget = b ? new Budget(b, `subagents.${ctx.subagent.name}.traces.budget`) : undefined;
  let teacher: Promise<OpenedTeacher> | undefined;
  const openOnce = (): Promise<OpenedTeacher> =>
    (teacher ??= openTeacher(ctx.project, ctx.subagent, {
      stage: "traces",
      meter,
      ...(budget ? { budget } : {}),
      log: ctx.log,
      ...(ctx.subagent.traces.temperature !== undefined ? { temperature: ctx.subagent.traces.temperature } : {}),
    }));
  return {
    items,
    async runItem(itemCtx, item) {
      const input = item.input as unknown as ItemInput;
      if (!files.envs.has(input.env)) files.envs.set(input.env, await environmentOf(itemCtx, input.env));
      const t = await openOnce();
      let trace: Trace;
      try {
        trace = await agent.rollout({
          task: input.task,
          sample: input.sample,
          env: input.env,
          ...(input.verify ? { verify: input.verify } : {}),
          client: t.client,
          model: { ...t.identity, role: "teacher" },
          sampling: { temperature: itemCtx.subagent.traces.temperature ?? itemCtx.subagent.teacher.temperature, max_tokens: itemCtx.subagent.teacher.max_tokens },
          signal: itemCtx.signal,
        });
      } catch (e) {
        // The budget is the user's limit, not a fault of this rollout: the item stops, unwritten.
        if (e instanceof BudgetExceededError) return { outcome: "stopped", why: "budget reached", hint: `Raise subagents.${itemCtx.subagent.name}.traces.budget in subagents.yaml and build again: finished items are reused and cost nothing.` };
        throw e;
      }
      await writeFile(join(itemCtx.outDir, "trace.json"), `${JSON.stringify(trace, null, 1)}\n`);
      const cost = meter.total().cost_usd;
      itemCtx.progress({ done: 0, total: items.length, costUsd: cost });
      const verified = trace.verification ? `, verifier ${trace.verification.passed ? "passed" : "failed"}` : "";
      itemCtx.log(`${trace.status} in ${trace.turns} turns, ${trace.tool_calls} tool calls${verified}${trace.usage.cached_requests === trace.usage.requests ? " (replayed from the response cache)" : ""}${cost ? `; $${cost.toFixed(4)} so far` : ""}`);
    },
  };
}

/** The image record of the sandbox item this rollout needs (the engine hands it over as `upstream.sandbox`). */
async function environmentOf(ctx: RunContext, env: string): Promise<BuiltEnvironment> {
  const { expectArtifact, readSandboxImage } = await import("../artifacts/index.js");
  const up = ctx.upstream.sandbox!;
  const image = expectArtifact(await readSandboxImage(up.dir), "sandbox");
  // A plugin's sandbox stage that writes one image.json stands for the default environment only.
  if ((image.env?.id ?? DEFAULT_ENV_ID) !== env) throw new Error(`environment ${env} was not built by the sandbox stage (its image.json is for ${image.env?.id ?? DEFAULT_ENV_ID})`);
  return { image, digest: up.digest };
}
