import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserInputError } from "../errors.js";
import type { SubagentSpec } from "../importers/types.js";
import { sha256 } from "../engine/key.js";
import { Budget, builtinPricing, costUsd, createChatClient, teacherClientOptions, type TeacherClient } from "../llm/index.js";
import { configName } from "../stages/config-name.js";
import { normalizeTaskText, type Task } from "../stages/task-files.js";
import type { RunContext } from "../stages/types.js";
import { generateTasks } from "./generate.js";
import type { GenerationParams } from "./params.js";
import { contextFromSpec, topicLabel } from "./prompts.js";

/**
 * The tasks stage's teacher step: `needed` generated tasks for a subagent that has `user`
 * tasks. Writes topics.json beside the stage's other outputs and returns the tasks with the
 * part of summary.json that describes how they were made.
 */
export async function teacherTasks(
  ctx: RunContext,
  params: GenerationParams,
  user: readonly Task[],
  needed: number,
): Promise<{ tasks: Task[]; summary: Record<string, unknown> }> {
  const { subagent } = ctx;
  const importDir = ctx.upstream.import?.dir;
  if (!importDir) throw new Error("bug: the tasks stage runs without the import stage's output");
  const spec = JSON.parse(await readFile(join(importDir, "spec.json"), "utf8")) as SubagentSpec;
  const client = teacherFor(ctx, params, user.length, needed);
  // The stage keeps its own budget rather than the client's: it charges replayed replies too.
  const budget = params.budget ? new Budget(params.budget, "tasks.budget") : undefined;
  const pricing = params.teacher.pricing ?? builtinPricing(params.teacher.model);
  // The endpoint as configured: a resolved URL may carry what its template kept out of sight.
  ctx.log(`${user.length} tasks written of tasks.count ${params.count}: asking ${client.model} at ${params.teacher.base_url} for ${needed} more`);

  const context = contextFromSpec(spec, { files: params.workspace.files });
  const report = await generateTasks({
    client,
    teacher: params.teacher,
    settings: params,
    context,
    needed,
    existing: user.map((t) => t.prompt),
    ...(budget ? { budget } : {}),
    replayCost: (r) => costUsd(pricing ?? builtinPricing(r.model), r.usage.prompt_tokens, r.usage.completion_tokens),
    signal: ctx.signal,
    log: (line) => ctx.log(line),
    progress: (p) => ctx.progress(p),
  });

  const taken = new Set(user.map((t) => t.id));
  const tasks: Task[] = [];
  for (const g of report.tasks) {
    const id = `g-${sha256(normalizeTaskText(g.prompt)).slice(0, 12)}`;
    if (taken.has(id)) continue;
    taken.add(id);
    const topic = g.topic.length ? g.topic.join(" > ") : subagent.name;
    tasks.push({ id, prompt: g.prompt, tags: ["generated", `topic:${topic}`], origin: `generated:${topic}` });
  }
  if (report.stopped) ctx.log(`warning: ${report.stopped}: kept ${tasks.length} of the ${needed} tasks wanted from the teacher`);
  const topics = report.topics.map((path) => topicLabel(context, path));
  await writeFile(join(ctx.outDir, "topics.json"), `${JSON.stringify(topics, null, 2)}\n`);
  const { sent, cached } = report.requests;
  ctx.log(
    `generated ${tasks.length} of ${needed} from ${topics.length} topics: ${sent} requests sent, ${cached} from the cache, ` +
      `${report.usage.prompt_tokens + report.usage.completion_tokens} tokens, $${report.usage.cost_usd.toFixed(4)}; ` +
      `dropped ${report.near_duplicates} near-duplicates and ${Object.values(report.rejected).reduce((a, b) => a + b, 0)} rejected`,
  );
  return {
    tasks,
    summary: {
      wanted: needed,
      kept: tasks.length,
      model: client.model,
      topics: topics.length,
      requests: report.requests,
      usage: report.usage,
      rejected: report.rejected,
      near_duplicates: report.near_duplicates,
      warnings: report.warnings,
      stopped: report.stopped,
    },
  };
}

/** The teacher client, or a UserInputError that says how to build without one. */
function teacherFor(ctx: RunContext, params: GenerationParams, written: number, needed: number): TeacherClient {
  const { subagent } = ctx;
  try {
    return createChatClient(
      teacherClientOptions(subagent.teacher, {
        cache: ctx.project.store,
        label: { subagent: subagent.name, stage: "tasks" },
        configKey: `subagents.${subagent.name}.teacher`,
        warn: (line) => ctx.log(`warning: ${line}`),
        onRetry: (r) => ctx.log(`teacher: ${r.message}; retry ${r.attempt} in ${Math.round(r.waitMs / 1000)} s`),
      }),
    );
  } catch (e) {
    throw new UserInputError(`cannot generate tasks for ${subagent.name}`, [
      {
        file: configName(ctx.project),
        line: 0,
        column: 0,
        keyPath: ["subagents", subagent.name, "tasks", "count"],
        message: `${written} tasks are written of ${params.count} wanted, and the teacher that would write the other ${needed} is not usable: ${(e as Error).message}`,
        hint: written
          ? `set tasks.count to ${written} to build with your tasks only, or make the teacher reachable`
          : "write tasks into tasks.from or tasks.seed, or make the teacher reachable",
      },
    ]);
  }
}
