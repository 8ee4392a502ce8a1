import { existsSync, readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import { join, relative, sep } from "node:path";
import type { FileFacts } from "../../store/stat-cache.js";

/**
 * What `tasks.from` entries are made of, read with node:fs alone: the tasks stage's inputs()
 * runs this on every plan (the key's files, the count of user tasks), so nothing here parses
 * TOML or YAML or loads zod. The importers (./index.ts) load when the stage runs.
 */

/** The formats `tasks.format` names; "auto" recognises each `tasks.from` entry by its content. */
export type TaskFormat = "auto" | "jsonl" | "swe-bench" | "harbor" | "terminal-bench";

/** The files of a task directory that say which format it is in. */
export const HARBOR_TASK_FILE = "task.toml";
export const TB1_TASK_FILE = "task.yaml";

/** A path as the key and the problems show it: relative to the project, forward slashes. */
export function projectPath(root: string, abs: string): string {
  return relative(root, abs).split(sep).join("/") || ".";
}

export function isDirectory(abs: string): boolean {
  return statSync(abs, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** A task directory: one holding task.toml (Harbor, Terminal-Bench 2) or task.yaml (Terminal-Bench 1). */
export function isTaskDir(abs: string): boolean {
  return existsSync(join(abs, HARBOR_TASK_FILE)) || existsSync(join(abs, TB1_TASK_FILE));
}

/**
 * The task directories a `tasks.from` directory stands for: itself when it is one, else its
 * children that are, sorted by name (a dataset checkout: one directory per task).
 */
export function taskDirs(abs: string): string[] {
  if (isTaskDir(abs)) return [abs];
  return readdirSync(abs, { withFileTypes: true })
    .filter((d) => !d.name.startsWith(".") && isDirectory(join(abs, d.name)) && isTaskDir(join(abs, d.name)))
    .map((d) => d.name)
    .sort()
    .map((name) => join(abs, name));
}

/**
 * Every file under a directory, relative to it with forward slashes, sorted. `.git` is left
 * out: a dataset checkout's history is not part of any task.
 */
export function filesUnder(abs: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.name === ".git") continue;
      const path = join(dir, d.name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path, `${prefix}${d.name}/`);
      else if (stat?.isFile()) out.push(`${prefix}${d.name}`);
    }
  };
  walk(abs, "");
  return out.sort();
}

/**
 * The files the tasks stage's key hashes for `tasks.from`: each file entry, every file under
 * each directory entry, and the files JSONL verifiers copy in (`verify.files`, `solution.files`
 * naming project paths): their contents are written into tasks.jsonl, so they must be keyed.
 * Sorted, deduplicated, project-relative with forward slashes.
 */
export function taskSourceFiles(root: string, from: readonly string[], files?: FileFacts): string[] {
  return scanTaskSources(root, from, files).files;
}

/** What one pass over `tasks.from` tells the tasks stage's inputs(). */
export interface TaskSources {
  /** The key's files, as taskSourceFiles gives them. */
  files: string[];
  /** The tasks the entries hold, as countSourceEntries counts them (without the inline seeds). */
  entries: number;
  /** The indexes of the entries that do not exist. */
  missing: number[];
}

/**
 * taskSourceFiles, countSourceEntries of each entry and which entries are missing, with one stat
 * per entry: a no-op plan runs this for every subagent, and a task file was statted four times
 * (exists, its files, its count, its digest) where it is now statted twice (here, its digest).
 */
export function scanTaskSources(root: string, from: readonly string[], files?: FileFacts): TaskSources {
  const out = new Set<string>();
  const missing: number[] = [];
  let entries = 0;
  const add = (abs: string, st: Stats | undefined, top: boolean): void => {
    if (st?.isDirectory()) {
      for (const f of filesUnder(abs)) out.add(projectPath(root, join(abs, f)));
      if (top) entries += taskDirs(abs).length;
      return;
    }
    if (!st) return;
    out.add(projectPath(root, abs));
    if (!top) return;
    const facts = entryFacts(abs, st, files);
    entries += facts?.entries ?? 0;
    for (const ref of facts?.references ?? []) {
      const refAbs = join(root, ref);
      add(refAbs, statSync(refAbs, { throwIfNoEntry: false }), false);
    }
  };
  from.forEach((rel, i) => {
    const abs = join(root, rel);
    const st = files?.stat ? files.stat(abs) : statSync(abs, { throwIfNoEntry: false });
    if (!st) missing.push(i);
    add(abs, st, true);
  });
  return { files: [...out].sort(), entries, missing };
}

/** What the tasks stage's inputs() needs of a `tasks.from` file, from one read; null when unreadable. */
type EntryFacts = { entries: number; references: string[] } | null;

/**
 * A `tasks.from` file's entry count and the paths its verifiers name. With the store's stat
 * cache (`files`), a no-op plan stats the file instead of reading it: the facts are remembered
 * until its (inode, size, mtime, ctime) change, as its digest is.
 */
function entryFacts(abs: string, st: Stats, files: FileFacts | undefined): EntryFacts {
  const read = (): EntryFacts => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(abs);
    } catch {
      return null;
    }
    return { entries: countEntries(bytes), references: referencedPaths(bytes) };
  };
  return files ? files.remember(abs, "tasks.from-entry", read, st) : read();
}

/**
 * Project paths named by `verify.files` / `solution.files` of a JSONL file's lines. Only lines
 * that mention "files" are parsed (JSON.parse, no schema): most task files have none.
 */
function referencedPaths(bytes: Buffer): string[] {
  // Searched on the bytes: most task files never mention "files", and are not decoded then.
  if (!bytes.includes('"files"')) return [];
  const paths: string[] = [];
  for (const line of bytes.toString("utf8").split("\n")) {
    if (!line.includes('"files"')) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    for (const part of [(value as Record<string, unknown>).verify, (value as Record<string, unknown>).solution]) {
      const listed = typeof part === "object" && part !== null ? (part as Record<string, unknown>).files : undefined;
      if (Array.isArray(listed)) paths.push(...listed.filter((f): f is string => typeof f === "string"));
    }
  }
  return paths;
}

/**
 * How many tasks one `tasks.from` entry holds, without importing it: task directories are
 * counted, a JSON array (SWE-bench's .json) is parsed for its length, and any other file is
 * counted by its non-blank lines on the bytes (JSONL, ours or SWE-bench's), without decoding.
 */
export function countSourceEntries(abs: string, files?: FileFacts): number {
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) return 0;
  if (st.isDirectory()) return taskDirs(abs).length;
  return entryFacts(abs, st, files)?.entries ?? 0;
}

function countEntries(bytes: Buffer): number {
  let first = 0;
  while (first < bytes.length && isSpace(bytes[first]!)) first++;
  if (bytes[first] === 0x5b /* [ */) {
    try {
      const value: unknown = JSON.parse(bytes.toString("utf8"));
      return Array.isArray(value) ? value.length : 0;
    } catch {
      return 0;
    }
  }
  let entries = 0;
  let blank = true;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 10) {
      if (!blank) entries++;
      blank = true;
    } else if (!isSpace(b)) blank = false;
  }
  return blank ? entries : entries + 1;
}

function isSpace(b: number): boolean {
  return b === 32 || b === 9 || b === 13 || b === 10;
}
