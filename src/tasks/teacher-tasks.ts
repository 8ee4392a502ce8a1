import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserInputError } from "../errors.js";
import type { SubagentSpec } from "../importers/types.js";
import { sha256 } from "../engine/key.js";
import { Budget, builtinPricing, costUsd, createChatClient, teacherClientOptions, type TeacherClient } from "../llm/index.js";
import { configName } from "../stages/config-name.js";
import { normalizeTaskText, type Task } from "../stages/task-files.js";
import type { RunContext } from "../stages/types.js";
import { envId } from "../envs/identity.js";
import { repoSlug } from "../envs/git.js";
import type { TaskEnv } from "../envs/types.js";
import { generateTasks } from "./generate.js";
import type { GenerationParams } from "./params.js";
import { contextFromSpec, topicLabel } from "./prompts.js";

/** One place the teacher writes tasks for: the subagent's own workspace, or a repository of sandbox.repos. */
export interface TaskScope {
  needed: number;
  /** The workspace's files, shown to the teacher so tasks name files that exist. */
  files: string[];
  /** Set for a repository: the generated tasks run in it. */
  env?: TaskEnv;
  /** How logs and summary.json name the scope (a repository as `url@sha`). */
  label?: string;
}

/**
 * The tasks stage's teacher step: generated tasks for each scope, for a subagent that has
 * `user` tasks. One budget spans the scopes, in their order. Writes topics.json beside the
 * stage's other outputs (a list of topics, or one list per repository) and returns the tasks
 * with the part of summary.json that describes how they were made.
 */
export async function teacherTasks(
  ctx: RunContext,
  params: GenerationParams,
  user: readonly Task[],
  scopes: readonly TaskScope[],
): Promise<{ tasks: Task[]; summary: Record<string, unknown> }> {
  const { subagent } = ctx;
  const importDir = ctx.upstream.import?.dir;
  if (!importDir) throw new Error("bug: the tasks stage runs without the import stage's output");
  const spec = JSON.parse(await readFile(join(importDir, "spec.json"), "utf8")) as SubagentSpec;
  const needed = scopes.reduce((n, s) => n + s.needed, 0);
  const client = teacherFor(ctx, params, user.length, needed);
  // The stage keeps its own budget rather than the client's: it charges replayed replies too.
  const budget = params.budget ? new Budget(params.budget, "tasks.budget") : undefined;
  const pricing = params.teacher.pricing ?? builtinPricing(params.teacher.model);
  // The endpoint as configured: a resolved URL may carry what its template kept out of sight.
  const where = scopes.some((s) => s.env) ? ` across ${scopes.length} repositories` : "";
  ctx.log(`${user.length} tasks written: asking ${client.model} at ${params.teacher.base_url} for ${needed} more${where}`);

  const taken = new Set(user.map((t) => t.id));
  const tasks: Task[] = [];
  const perScope: Record<string, unknown>[] = [];
  const topicsByScope: Record<string, string[]> = {};
  let topics: string[] = [];
  const total = { sent: 0, cached: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, near_duplicates: 0 };
  const rejected: Record<string, number> = {};
  const warnings: string[] = [];
  let stopped: string | null = null;
  let done = 0;
  for (const scope of scopes) {
    if (stopped) break;
    const context = contextFromSpec(spec, { files: scope.files });
    const mine = scope.env ? envId(scope.env) : undefined;
    const report = await generateTasks({
      client,
      teacher: params.teacher,
      settings: params,
      context,
      needed: scope.needed,
      // A repository's tasks need only differ from the tasks that run in that repository.
      existing: user.filter((t) => (t.env ? envId(t.env) : undefined) === mine).map((t) => t.prompt),
      ...(budget ? { budget } : {}),
      replayCost: (r) => costUsd(pricing ?? builtinPricing(r.model), r.usage.prompt_tokens, r.usage.completion_tokens),
      signal: ctx.signal,
      log: (line) => ctx.log(scope.label ? `${scope.label}: ${line}` : line),
      progress: (p) => ctx.progress({ done: done + p.done, total: needed, costUsd: total.cost_usd + p.costUsd }),
    });
    let kept = 0;
    for (const g of report.tasks) {
      const norm = normalizeTaskText(g.prompt);
      // The same words in two repositories are two tasks: the id names the environment too.
      const id = `g-${sha256(mine ? `${mine}\n${norm}` : norm).slice(0, 12)}`;
      if (taken.has(id)) continue;
      taken.add(id);
      kept++;
      const topic = g.topic.length ? g.topic.join(" > ") : subagent.name;
      const tags = ["generated", `topic:${topic}`, ...(scope.env && "repo" in scope.env ? [`repo:${repoSlug(scope.env.repo)}`] : [])];
      tasks.push({ id, prompt: g.prompt, tags, origin: `generated:${scope.label ? `${scope.label}:` : ""}${topic}`, ...(scope.env ? { env: scope.env } : {}) });
    }
    done += kept;
    if (report.stopped) ctx.log(`warning: ${report.stopped}: kept ${kept} of the ${scope.needed} tasks wanted from the teacher${scope.label ? ` for ${scope.label}` : ""}`);
    stopped = report.stopped;
    const labels = report.topics.map((path) => topicLabel(context, path));
    if (scope.label) topicsByScope[scope.label] = labels;
    else topics = labels;
    total.sent += report.requests.sent;
    total.cached += report.requests.cached;
    total.prompt_tokens += report.usage.prompt_tokens;
    total.completion_tokens += report.usage.completion_tokens;
    total.cost_usd += report.usage.cost_usd;
    total.near_duplicates += report.near_duplicates;
    for (const [why, n] of Object.entries(report.rejected)) rejected[why] = (rejected[why] ?? 0) + n;
    warnings.push(...report.warnings.map((w) => (scope.label ? `${scope.label}: ${w}` : w)));
    if (scope.label) perScope.push({ repo: scope.label, wanted: scope.needed, kept, topics: labels.length });
  }
  const byRepo = scopes.some((s) => s.label);
  await writeFile(join(ctx.outDir, "topics.json"), `${JSON.stringify(byRepo ? topicsByScope : topics, null, 2)}\n`);
  const topicCount = byRepo ? Object.values(topicsByScope).reduce((n, t) => n + t.length, 0) : topics.length;
  ctx.log(
    `generated ${tasks.length} of ${needed} from ${topicCount} topics: ${total.sent} requests sent, ${total.cached} from the cache, ` +
      `${total.prompt_tokens + total.completion_tokens} tokens, $${total.cost_usd.toFixed(4)}; ` +
      `dropped ${total.near_duplicates} near-duplicates and ${Object.values(rejected).reduce((a, b) => a + b, 0)} rejected`,
  );
  return {
    tasks,
    summary: {
      wanted: needed,
      kept: tasks.length,
      model: client.model,
      topics: topicCount,
      requests: { sent: total.sent, cached: total.cached },
      usage: { prompt_tokens: total.prompt_tokens, completion_tokens: total.completion_tokens, cost_usd: total.cost_usd },
      rejected,
      near_duplicates: total.near_duplicates,
      warnings,
      stopped,
      ...(byRepo ? { repos: perScope } : {}),
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
