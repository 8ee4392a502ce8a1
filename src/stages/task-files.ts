import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Solution, TaskEnv, Verifier } from "../envs/types.js";
import type { Problem } from "../errors.js";
import type { Result } from "../result.js";
import { err, ok } from "../result.js";

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
 * Reads a JSONL task file: each non-blank line is a JSON string (the prompt) or an object with
 * `prompt` (alias `task`) and optional `id` and `tags`; other keys are kept as metadata.
 */
export async function readTaskFile(root: string, rel: string): Promise<Result<(RawTask & { origin: string })[], Problem[]>> {
  let text: string;
  try {
    text = await readFile(join(root, rel), "utf8");
  } catch (e) {
    return err([{ file: rel, line: 0, column: 0, keyPath: [], message: `cannot read the task file: ${(e as Error).message}`, hint: "tasks.from names JSONL files, relative to the project directory" }]);
  }
  const tasks: (RawTask & { origin: string })[] = [];
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const at = { file: rel, line: i + 1, column: 1, keyPath: [] as (string | number)[], sourceLine: line, length: line.length };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      problems.push({ ...at, message: `not valid JSON (${(e as Error).message})`, hint: 'each line is one task: {"prompt": "..."} or a JSON string' });
      return;
    }
    const parsed = toRawTask(value);
    if (typeof parsed === "string") problems.push({ ...at, message: parsed, expected: '{"prompt": "<non-empty text>", "id"?: "...", "tags"?: ["..."]}' });
    else tasks.push({ ...parsed, origin: `${rel}:${i + 1}` });
  });
  return problems.length ? err(problems) : ok(tasks);
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
  subagent: { name: string; tasks: { from: string[]; seed: unknown[] } },
): Promise<{ raw: SourcedTask[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const raw: SourcedTask[] = [];
  for (const rel of subagent.tasks.from) {
    const read = await readTaskFile(root, rel);
    if (read.ok) raw.push(...read.value);
    else problems.push(...read.error);
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
 * How many tasks the user wrote: non-blank lines of the task files plus inline seeds. It decides
 * whether the teacher is needed, and so what goes into the key, on every plan: counted on the
 * bytes, without decoding or parsing, so the no-op path stays as fast as the stat cache makes it.
 */
export function countTaskEntries(root: string, subagent: { tasks: { from: string[]; seed: unknown[] } }): number {
  let entries = subagent.tasks.seed.length;
  for (const rel of subagent.tasks.from) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(root, rel));
    } catch {
      continue;
    }
    let blank = true;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 10) {
        if (!blank) entries++;
        blank = true;
      } else if (b !== 32 && b !== 9 && b !== 13) blank = false;
    }
    if (!blank) entries++;
  }
  return entries;
}
