import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Budget, Meter } from "../llm/accounting.js";
import { openTeacher, type OpenedTeacher } from "../llm/teacher.js";
import { BudgetExceededError } from "../llm/types.js";
import { openAgentRun, readAgentFiles } from "../traces/agent-run.js";
import type { Trace } from "../traces/types.js";
import { envId } from "../envs/identity.js";
import type { Verifier } from "../envs/types.js";
import type { ItemOutcome, MapItem, RunContext } from "./types.js";

interface ItemInput {
  task: { id: string; prompt: string; tags: string[] };
  sample: number;
  /** The task's environment and the digest of its image's record: the item's share of the sandbox output. */
  env: { id: string; digest: string };
  verify?: Verifier;
}

/**
 * Lists the traces items and returns how to roll one out. The teacher, the meter and the
 * budget are shared by this run's items, in this closure; the teacher and the image start on
 * the first item that runs, so a build whose items are all cached touches neither.
 */
export async function openTraces(ctx: RunContext): Promise<{ items: MapItem[]; runItem(ctx: RunContext, item: MapItem): Promise<ItemOutcome | void> }> {
  const { artifactOr, readTrainTasks } = await import("../artifacts/index.js");
  const tasks = artifactOr(await readTrainTasks(ctx.upstream.tasks!.dir), "tasks", []);
  const files = await readAgentFiles(ctx.upstream.import!.dir, ctx.upstream.sandbox!);
  const items: MapItem[] = [];
  for (const task of tasks) {
    const env = envId(task.env);
    const built = files.envs.get(env);
    // The sandbox stage lists every task's environment: one missing is a plugin's sandbox stage that did not.
    if (!built) throw new Error(`task ${task.id} runs in environment ${env}, which the sandbox stage did not build (built: ${[...files.envs.keys()].join(", ")})`);
    for (let sample = 0; sample < ctx.subagent.traces.samples_per_task; sample++) {
      const input: ItemInput = { task: { id: task.id, prompt: task.prompt, tags: task.tags }, sample, env: { id: env, digest: built.digest }, ...(task.verify ? { verify: task.verify } : {}) };
      items.push({ id: `${task.id}.s${sample}`, input: input as unknown as MapItem["input"] });
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
      const t = await openOnce();
      let trace: Trace;
      try {
        trace = await agent.rollout({
          task: input.task,
          sample: input.sample,
          env: input.env.id,
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
