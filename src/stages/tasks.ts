import { writeFile } from "node:fs/promises";
import { statSync } from "node:fs";
import { join, relative } from "node:path";
import { UserInputError, type Problem } from "../errors.js";
import { sha256, type Json } from "../engine/key.js";
import { err, ok } from "../result.js";
import { configName } from "./config-name.js";
import { trafficFiles } from "../traffic/log.js";
import { countTaskEntries, normalizeTaskText, readUserTasks, scanTaskSources, teacherAsked, type SourcedTask, type Task } from "./task-files.js";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { RepoEnv } from "../envs/types.js";
import type { Result } from "../result.js";
import type { TaskScope } from "../tasks/teacher-tasks.js";
import type { GenerationParams } from "../tasks/params.js";
import type { Stage } from "./types.js";

export { normalizeTaskText } from "./task-files.js";

/**
 * Held out by a hash of the task text, not by position or a random draw: the split of a task
 * never changes when others are added, removed or reordered.
 */
export function isHeldOut(text: string, fraction: number): boolean {
  return parseInt(sha256(`holdout:${normalizeTaskText(text)}`).slice(0, 8), 16) / 0x1_0000_0000 < fraction;
}

/**
 * The subagent's tasks: the user's (task files and inline seeds) first, then, when they are
 * fewer than `tasks.count`, as many teacher-written ones as are missing; deduplicated and split
 * into train and held-out. With enough user tasks the teacher is never asked, its settings stay
 * out of the key and no API key is needed.
 */
export function tasksStage(): Stage {
  return {
    kind: "tasks",
    // 3: a task's env, verify and solution are read from every format (an old JSONL task's env
    // was metadata), with sandbox.repos per-repository generation; Harbor and Terminal-Bench
    // verifiers and solutions run as root.
    version: "3",
    deps: ["import"],
    async inputs({ project, subagent, files: facts }) {
      const t = subagent.tasks;
      // Directories stand for every file under them (task.toml, tests/, environment/, ...), and
      // JSONL verifiers' files join too: their contents are copied into tasks.jsonl.
      const sources = scanTaskSources(project.root, t.from, facts);
      const missing: Problem[] = sources.missing.map((i) => ({
        file: configName(project),
        line: 0,
        column: 0,
        keyPath: ["subagents", subagent.name, "tasks", "from", i],
        message: `task file ${t.from[i]} not found`,
        hint: "create it (one JSON task per line, SWE-bench instances, or task directories) or fix the path, relative to the project directory",
      }));
      if (missing.length) return err(missing);
      // Recorded traffic (serve.record) joins as files: a new delegation makes the tasks stale.
      const files = t.from_recorded ? [...sources.files, ...recordedFiles(project, subagent)] : sources.files;
      const params: Record<string, Json> = {
        // The user's tasks: the files' order (their contents are keyed below) and the inline seeds.
        from: t.from,
        seed: t.seed as Json,
        // The held-out fraction: which tasks go to heldout.jsonl.
        holdout: t.holdout,
      };
      // A named format reads the same bytes differently; "auto" (the default) decides from the
      // contents, which are keyed, and stays out so existing keys hold.
      if (t.format !== "auto") params.format = t.format;
      // Which recorded prompts are new enough to become tasks; off, it stays out so keys hold.
      if (t.from_recorded) params.from_recorded = { dedup_threshold: t.generate.dedup_threshold };
      // Files copied into a container carry mode 0o755 when executable, which a content digest
      // does not see. The entries of tasks.from that are files themselves are read, not copied.
      const executable = sources.files.filter((f) => !t.from.includes(f) && (statSync(join(project.root, f)).mode & 0o111) !== 0);
      if (executable.length) params.executable = executable;
      // How many to write, the teacher and the workspace it is shown: only when it is asked.
      const repos = await sandboxRepos(project, subagent);
      if (!repos.ok) return repos;
      // The teacher's modules load only when it is asked: a no-op with enough tasks loads none.
      if (teacherAsked(t.seed.length + sources.entries, t.count, repos.value.length, t.per_repo)) {
        const generate = repos.value.length
          ? await (await import("../tasks/repo-scopes.js")).repoGenerationInput(project, subagent, repos.value)
          : ok((await import("../tasks/params.js")).generationParams(subagent, await (await import("../tasks/workspace.js")).workspaceListing(project, subagent)) as unknown as Json);
        if (!generate.ok) return generate;
        params.generate = generate.value;
      }
      return ok({ params, files });
    },
    async run(ctx) {
      const t = ctx.subagent.tasks;
      const { raw, problems } = await readUserTasks(ctx.project.root, configName(ctx.project), ctx.subagent);
      const { tasks: user, duplicates } = dedupe(raw, problems);
      if (problems.length) throw new UserInputError(`invalid tasks for ${ctx.subagent.name}`, problems);
      // Whether to generate follows the entries the user wrote (as the key does); how many, the
      // distinct tasks among them.
      const repos = await sandboxRepos(ctx.project, ctx.subagent);
      if (!repos.ok) throw new UserInputError(`invalid sandbox.repos for ${ctx.subagent.name}`, repos.error);
      const asked = teacherAsked(countTaskEntries(ctx.project.root, ctx.subagent, ctx.files), t.count, repos.value.length, t.per_repo);
      const missing = Math.max(t.count - user.length, 0);
      let generated: Task[] = [];
      let generation: Record<string, unknown> | null = null;
      const { workspaceListing } = await import("../tasks/workspace.js");
      const scopes: TaskScope[] = !asked
        ? []
        : repos.value.length
          ? await (await import("../tasks/repo-scopes.js")).repoScopes(ctx, repos.value, missing)
          : [{ needed: missing, files: (await workspaceListing(ctx.project, ctx.subagent)).files }];
      if (scopes.some((s) => s.needed > 0)) {
        // Loaded on demand: the teacher client (and the OpenAI SDK) only when tasks are generated.
        const { teacherTasks } = await import("../tasks/teacher-tasks.js");
        const { generationParams } = await import("../tasks/params.js");
        const { REPOS_LISTING } = await import("../tasks/per-repo.js");
        const params: GenerationParams = generationParams(ctx.subagent, repos.value.length ? REPOS_LISTING : await workspaceListing(ctx.project, ctx.subagent));
        ({ tasks: generated, summary: generation } = await teacherTasks(ctx, params, user, scopes));
      } else if (user.length < t.count) {
        ctx.log(`warning: ${user.length} distinct tasks of tasks.count ${t.count}: duplicates do not count, but the teacher writes tasks only when fewer than ${t.count} are written`);
      }
      const recorded = t.from_recorded ? await (await import("../traffic/tasks.js")).recordedTasks(ctx.project.store, ctx.subagent.name, [...user, ...generated], t.generate.dedup_threshold) : undefined;
      if (recorded && !recorded.records) ctx.log("warning: tasks.from_recorded is on but nothing is recorded for this subagent yet (serve: {record: true} records what `sabuild serve` answers)", "warn");
      if (recorded?.skipped) ctx.log(`warning: ${recorded.skipped} lines of the traffic log are not records and were skipped (\`sabuild traffic ls\` names them)`, "warn");
      const tasks = [...user, ...generated, ...(recorded?.tasks ?? [])];
      const train = tasks.filter((x) => !isHeldOut(x.prompt, t.holdout));
      const heldout = tasks.filter((x) => isHeldOut(x.prompt, t.holdout));
      const jsonl = (xs: Task[]): string => xs.map((x) => JSON.stringify(x)).join("\n") + (xs.length ? "\n" : "");
      await writeFile(join(ctx.outDir, "tasks.jsonl"), jsonl(train));
      await writeFile(join(ctx.outDir, "heldout.jsonl"), jsonl(heldout));
      const summary = {
        total: tasks.length,
        train: train.length,
        heldout: heldout.length,
        duplicates_dropped: duplicates,
        user: user.length,
        generated: generated.length,
        generation,
        ...(recorded ? { recorded: recorded.tasks.length, recorded_duplicates: recorded.duplicates, recorded_skipped: recorded.skipped } : {}),
      };
      await writeFile(join(ctx.outDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
      const from = generation || recorded ? ` (${user.length} yours, ${generated.length} generated${recorded ? `, ${recorded.tasks.length} recorded (${recorded.duplicates} near-duplicates dropped)` : ""})` : "";
      ctx.log(`${tasks.length} tasks${from}: ${train.length} train, ${heldout.length} held out, ${duplicates} duplicates dropped`);
    },
  };
}

/** The subagent's traffic log files, relative to the project (the store may lie outside it). */
function recordedFiles(project: ProjectConfig, subagent: ResolvedSubagent): string[] {
  return trafficFiles(project.store, subagent.name).map((f) => relative(project.root, f));
}

/** sandbox.repos as written; its module (and git's) loads only when the key is set. */
async function sandboxRepos(project: ProjectConfig, subagent: ResolvedSubagent): Promise<Result<RepoEnv[], Problem[]>> {
  if (subagent.sandbox.repos === undefined) return ok([]);
  return (await import("../envs/repos.js")).readSandboxRepos(project, subagent);
}

function dedupe(raw: SourcedTask[], problems: Problem[]): { tasks: Task[]; duplicates: number } {
  const byText = new Set<string>();
  const byId = new Map<string, string>();
  const tasks: Task[] = [];
  let duplicates = 0;
  for (const r of raw) {
    const norm = normalizeTaskText(r.prompt);
    if (byText.has(norm)) {
      duplicates++;
      continue;
    }
    byText.add(norm);
    const id = r.id ?? `t-${sha256(norm).slice(0, 12)}`;
    const previous = byId.get(id);
    if (previous) {
      const [file, line] = r.origin.split(":");
      problems.push({ file: file!, line: Number(line ?? 0), column: 1, keyPath: [], message: `task id "${id}" is already used at ${previous}`, hint: "ids must be unique within a subagent" });
      continue;
    }
    byId.set(id, r.origin);
    tasks.push({
      id,
      prompt: r.prompt,
      tags: r.tags ?? [],
      origin: r.origin,
      ...(r.meta ? { meta: r.meta } : {}),
      ...(r.env ? { env: r.env } : {}),
      ...(r.verify ? { verify: r.verify } : {}),
      ...(r.solution ? { solution: r.solution } : {}),
    });
  }
  return { tasks, duplicates };
}
