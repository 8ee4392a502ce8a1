import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Problem } from "../../errors.js";
import type { SourcedTask } from "../../stages/task-files.js";
import { HARBOR_TASK_FILE, isDirectory, isTaskDir, projectPath, taskDirs } from "./sources.js";
import { fileProblem, type Imported, type TaskFormat } from "./types.js";

export type { Imported, TaskFormat } from "./types.js";

/** What a `tasks.from` entry is: a file of tasks, one task directory, or a directory of task directories. */
export type DetectedFormat = "jsonl" | "swe-bench" | "harbor" | "terminal-bench" | "task-dirs";

/** Recognises an entry from its content; undefined when it cannot be read. */
export function detectFormat(root: string, rel: string): DetectedFormat | undefined {
  const abs = join(root, rel);
  if (isDirectory(abs)) return isTaskDir(abs) ? taskDirFormat(abs) : "task-dirs";
  try {
    return detectFileFormat(readFileSync(abs, "utf8"));
  } catch {
    return undefined;
  }
}

/** task.toml wins over task.yaml: a directory holding both was ported to Harbor (Terminal-Bench 2). */
export function taskDirFormat(abs: string): "harbor" | "terminal-bench" {
  return existsSync(join(abs, HARBOR_TASK_FILE)) ? "harbor" : "terminal-bench";
}

/**
 * A JSON array is SWE-bench's .json (our JSONL has one task per line, never an array); lines
 * whose first record carries instance_id are SWE-bench's JSONL; anything else is ours.
 */
export function detectFileFormat(text: string): "jsonl" | "swe-bench" {
  if (text.trimStart().startsWith("[")) return "swe-bench";
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === "object" && value !== null && "instance_id" in value ? "swe-bench" : "jsonl";
    } catch {
      continue;
    }
  }
  return "jsonl";
}

/**
 * Imports one `tasks.from` entry in `format` (recognised from its content when "auto"). Each
 * importer loads when used: a project of JSONL tasks never loads the TOML or YAML parser.
 */
export async function importTaskSource(root: string, rel: string, format: TaskFormat = "auto"): Promise<Imported> {
  const abs = join(root, rel);
  const shown = projectPath(root, abs);
  if (isDirectory(abs)) {
    if (format === "jsonl" || format === "swe-bench") return failed(fileProblem(shown, `a directory, but tasks.format ${format} reads a file`, { hint: 'set tasks.format to "auto", or name the file' }));
    return importTaskDirs(root, abs, shown, format);
  }
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (e) {
    return failed(fileProblem(shown, `cannot read the task file: ${(e as Error).message}`, { hint: "tasks.from names JSONL or SWE-bench files or task directories, relative to the project directory" }));
  }
  if (format === "harbor" || format === "terminal-bench") return failed(fileProblem(shown, `a file, but a ${format} task is a directory (with ${format === "harbor" ? "task.toml" : "task.yaml"})`, { hint: 'set tasks.format to "auto", or name the task directory' }));
  if ((format === "auto" ? detectFileFormat(text) : format) === "swe-bench") {
    const { readSweBenchTasks } = await import("./swe-bench.js");
    return readSweBenchTasks(root, shown, text);
  }
  const { readJsonlTasks } = await import("./jsonl.js");
  return readJsonlTasks(root, shown, text);
}

async function importTaskDirs(root: string, abs: string, shown: string, format: TaskFormat): Promise<Imported> {
  const dirs = taskDirs(abs);
  if (!dirs.length) return failed(fileProblem(shown, "no task here: neither this directory nor its subdirectories hold task.toml (Harbor) or task.yaml (Terminal-Bench)"));
  const out: Imported = { tasks: [], problems: [] };
  for (const dir of dirs) {
    const kind = taskDirFormat(dir);
    if (format === "harbor" && kind !== "harbor") {
      out.problems.push(fileProblem(`${projectPath(root, dir)}/task.yaml`, "a Terminal-Bench 1 task (task.yaml), but tasks.format is harbor (task.toml)", { hint: 'set tasks.format to "auto" or "terminal-bench"' }));
      continue;
    }
    const r = await readTaskDir(root, dir, kind);
    if (r.task) out.tasks.push(r.task);
    out.problems.push(...r.problems);
  }
  return out;
}

async function readTaskDir(root: string, dir: string, kind: "harbor" | "terminal-bench"): Promise<{ task?: SourcedTask; problems: Problem[] }> {
  try {
    if (kind === "harbor") return (await import("./harbor.js")).readHarborTask(root, dir);
    return (await import("./terminal-bench.js")).readTerminalBenchTask(root, dir);
  } catch (e) {
    return { problems: [fileProblem(projectPath(root, dir), `cannot read the task directory: ${(e as Error).message}`)] };
  }
}

function failed(problem: Problem): Imported {
  return { tasks: [], problems: [problem] };
}
