import { writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserInputError, type Problem } from "../errors.js";
import { sha256, type Json } from "../key.js";
import { err, ok } from "../result.js";
import { configName } from "./config-name.js";
import { readTaskFile, toRawTask, type RawTask, type Task } from "./task-files.js";
import type { Stage } from "./types.js";

export function normalizeTaskText(text: string): string {
  return text.normalize("NFKC").replace(/\s+/g, " ").trim().toLowerCase();
}

/**
 * Held out by a hash of the task text, not by position or a random draw: the split of a task
 * never changes when others are added, removed or reordered.
 */
export function isHeldOut(text: string, fraction: number): boolean {
  return parseInt(sha256(`holdout:${normalizeTaskText(text)}`).slice(0, 8), 16) / 0x1_0000_0000 < fraction;
}

function fromList(from: string | string[] | undefined): string[] {
  return from === undefined ? [] : Array.isArray(from) ? from : [from];
}

/** User-written tasks (task files and inline seeds), deduplicated and split into train and held-out. */
export function tasksStage(): Stage {
  return {
    kind: "tasks",
    version: "1",
    deps: ["import"],
    async inputs({ project, subagent }) {
      const t = subagent.tasks;
      const missing: Problem[] = [];
      fromList(t.from).forEach((rel, i) => {
        if (!existsSync(join(project.root, rel))) {
          missing.push({
            file: configName(project),
            line: 0,
            column: 0,
            keyPath: ["subagents", subagent.name, "tasks", "from", i],
            message: `task file ${rel} not found`,
            hint: "create it (one JSON task per line) or fix the path, relative to the project directory",
          });
        }
      });
      if (missing.length) return err(missing);
      return ok({ params: { from: fromList(t.from), seed: t.seed as Json, holdout: t.holdout }, files: fromList(t.from) });
    },
    async run(ctx) {
      const t = ctx.subagent.tasks;
      const problems: Problem[] = [];
      const raw: (RawTask & { origin: string })[] = [];
      for (const rel of fromList(t.from)) {
        const read = await readTaskFile(ctx.project.root, rel);
        if (read.ok) raw.push(...read.value);
        else problems.push(...read.error);
      }
      t.seed.forEach((s, i) => {
        const parsed = toRawTask(s);
        const keyPath = ["subagents", ctx.subagent.name, "tasks", "seed", i];
        if (typeof parsed === "string") problems.push({ file: configName(ctx.project), line: 0, column: 0, keyPath, message: parsed });
        else raw.push({ ...parsed, origin: `seed[${i}]` });
      });
      const { tasks, duplicates } = dedupe(raw, problems);
      if (problems.length) throw new UserInputError(`invalid tasks for ${ctx.subagent.name}`, problems);
      if (tasks.length === 0) {
        const files = fromList(t.from);
        ctx.log(`warning: no tasks yet: ${files.length ? `write tasks into ${files.join(", ")} (one JSON task per line)` : "set tasks.from to a JSONL file"} or add tasks.seed`);
      }
      const train = tasks.filter((x) => !isHeldOut(x.prompt, t.holdout));
      const heldout = tasks.filter((x) => isHeldOut(x.prompt, t.holdout));
      const jsonl = (xs: Task[]): string => xs.map((x) => JSON.stringify(x)).join("\n") + (xs.length ? "\n" : "");
      await writeFile(join(ctx.outDir, "tasks.jsonl"), jsonl(train));
      await writeFile(join(ctx.outDir, "heldout.jsonl"), jsonl(heldout));
      const summary = { total: tasks.length, train: train.length, heldout: heldout.length, duplicates_dropped: duplicates };
      await writeFile(join(ctx.outDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
      ctx.log(`${tasks.length} tasks (${train.length} train, ${heldout.length} held out, ${duplicates} duplicates dropped)`);
    },
  };
}

function dedupe(raw: (RawTask & { origin: string })[], problems: Problem[]): { tasks: Task[]; duplicates: number } {
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
    tasks.push({ id, prompt: r.prompt, tags: r.tags ?? [], origin: r.origin, ...(r.meta ? { meta: r.meta } : {}) });
  }
  return { tasks, duplicates };
}
