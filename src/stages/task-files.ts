import { join } from "node:path";
import type { Solution, TaskEnv, Verifier } from "../envs/types.js";
import type { Problem } from "../errors.js";
import type { FileFacts } from "../store/stat-cache.js";
import { countSourceEntries, type TaskFormat } from "../tasks/formats/sources.js";

export { scanTaskSources, taskSourceFiles } from "../tasks/formats/sources.js";

/** A task as the pipeline sees it: the prompt the subagent receives, plus where it came from. */
export interface Task {
  id: string;
  prompt: string;
  tags: string[];
  /** `path:line` of a task file, or `seed[i]` for inline seed tasks. */
  origin: string;
  meta?: Record<string, unknown>;
  env?: TaskEnv;
  verify?: Verifier;
  solution?: Solution;
}

export type RawTask = { prompt: string; id?: string; tags?: string[]; meta?: Record<string, unknown>; env?: TaskEnv; verify?: Verifier; solution?: Solution };

const ID = /^[\w.-]{1,80}$/;

/** What makes two tasks the same task: case, spacing and Unicode compatibility forms aside. */
export function normalizeTaskText(text: string): string {
  // NFKC leaves ASCII as it is, and its first call loads ICU data (~40 ms): skip it when it cannot matter.
  const nfkc = /[^\x00-\x7f]/.test(text) ? text.normalize("NFKC") : text;
  return nfkc.replace(/\s+/g, " ").trim().toLowerCase();
}

/**
 * Reads one `tasks.from` entry: our JSONL, SWE-bench instances (.json or .jsonl), a Harbor or
 * Terminal-Bench task directory, or a directory of them (src/tasks/formats/, docs/task-formats.md).
 * Returns the valid tasks and a located problem for each invalid one: the caller decides.
 */
export async function readTaskFile(root: string, rel: string, format: TaskFormat = "auto"): Promise<{ tasks: SourcedTask[]; problems: Problem[] }> {
  // Loaded on demand: the importers bring zod, the TOML and the YAML parsers; a no-op plan needs none.
  const { importTaskSource } = await import("../tasks/formats/index.js");
  return importTaskSource(root, rel, format);
}

/** Validates one task value; returns an error message instead when it is not a task. */
export function toRawTask(value: unknown): RawTask | string {
  if (typeof value === "string") return value.trim() ? { prompt: value } : "the task text is empty";
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "a task must be a JSON object or string";
  const { prompt, task, id, tags, ...meta } = value as Record<string, unknown>;
  const text = prompt ?? task;
  if (typeof text !== "string" || !text.trim()) return 'missing "prompt": a non-empty string';
  if (id !== undefined && (typeof id !== "string" || !ID.test(id))) return '"id" must be 1-80 letters, digits, "_", "-" or "."';
  if (tags !== undefined && (!Array.isArray(tags) || tags.some((t) => typeof t !== "string"))) return '"tags" must be a list of strings';
  return {
    prompt: text,
    ...(id !== undefined ? { id: id as string } : {}),
    ...(tags !== undefined ? { tags: tags as string[] } : {}),
    ...(Object.keys(meta).length ? { meta } : {}),
  };
}

export type SourcedTask = RawTask & { origin: string };

/** The user's tasks of a subagent: its task files, then its inline seeds, in order. */
export async function readUserTasks(
  root: string,
  configFile: string,
  subagent: { name: string; tasks: { from: string[]; seed: unknown[]; format?: TaskFormat } },
): Promise<{ raw: SourcedTask[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const raw: SourcedTask[] = [];
  for (const rel of subagent.tasks.from) {
    const read = await readTaskFile(root, rel, subagent.tasks.format);
    raw.push(...read.tasks);
    problems.push(...read.problems);
  }
  subagent.tasks.seed.forEach((s, i) => {
    const parsed = toRawTask(s);
    const keyPath = ["subagents", subagent.name, "tasks", "seed", i];
    if (typeof parsed === "string") problems.push({ file: configFile, line: 0, column: 0, keyPath, message: parsed });
    else raw.push({ ...parsed, origin: `seed[${i}]` });
  });
  return { raw, problems };
}

/**
 * How many tasks the user wrote: the entries of `tasks.from` plus inline seeds. It decides
 * whether the teacher is needed, and so what goes into the key, on every plan: JSONL is
 * counted on the bytes (non-blank lines), task directories by number, a SWE-bench .json by
 * its array's length; nothing is validated, so the no-op path stays as fast as the stat cache makes it.
 */
export function countTaskEntries(root: string, subagent: { tasks: { from: string[]; seed: unknown[] } }, files?: FileFacts): number {
  let entries = subagent.tasks.seed.length;
  for (const rel of subagent.tasks.from) entries += countSourceEntries(join(root, rel), files);
  return entries;
}

/**
 * Whether the teacher is asked at all. With per_repo every repository gets its tasks whatever
 * the user wrote; otherwise only when the user's entries fall short of tasks.count (counted as
 * written, as the stage's key counts them).
 */
export function teacherAsked(entries: number, count: number, repos: number, perRepo: number | undefined): boolean {
  if (repos > 0 && perRepo !== undefined) return true;
  return entries < count;
}
