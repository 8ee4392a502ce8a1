import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedBenchmark } from "../config/benchmark-schema.js";
import { sha256 } from "../engine/key.js";
import { UserInputError, type Problem } from "../errors.js";
import type { RunHooks } from "../engine/types.js";
import { normalizeTaskText, readTaskFile, type Task } from "./task-files.js";
import { configName } from "./config-name.js";
import type { ProjectContext } from "./types.js";

/** A benchmark task: what the orchestrator is asked, where it runs and how it is checked. */
export type BenchTask = Pick<Task, "id" | "prompt" | "tags" | "origin" | "env" | "verify">;

export const BENCH_TASKS_FILE = "tasks.jsonl";
/** The arms and samples the items span: in this node's output so that a new arm or sample reopens the runs node (which runs only the new items). */
export const BENCH_GRID_FILE = "grid.json";

export interface BenchGrid {
  arms: ResolvedBenchmark["arms"];
  samples: number;
}

/**
 * Reads the benchmark's task sources into `tasks.jsonl`. Its own node, so that the runs' items
 * fan out over its output: adding a task runs that task's items and reuses every other one.
 * Unlike a subagent's tasks, nothing is generated or held out, and every task is kept (a
 * benchmark scores what it was given); a repeated id is an error, a repeated prompt is not.
 */
export async function writeBenchTasks(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark): Promise<void> {
  const problems: Problem[] = [];
  const tasks: BenchTask[] = [];
  const seen = new Map<string, string>();
  for (const rel of b.tasks.from) {
    const read = await readTaskFile(ctx.project.root, rel, b.tasks.format);
    problems.push(...read.problems);
    for (const r of read.tasks) {
      const id = r.id ?? `t-${sha256(normalizeTaskText(r.prompt)).slice(0, 12)}`;
      const previous = seen.get(id);
      if (previous) {
        const [file, line] = r.origin.split(":");
        problems.push({ file: file!, line: Number(line ?? 0), column: 1, keyPath: [], message: `task id "${id}" is already used at ${previous}`, hint: "ids must be unique within a benchmark: give the task its own id" });
        continue;
      }
      seen.set(id, r.origin);
      tasks.push({ id, prompt: r.prompt, tags: r.tags ?? [], origin: r.origin, ...(r.env ? { env: r.env } : {}), ...(r.verify ? { verify: r.verify } : {}) });
    }
  }
  if (problems.length) throw new UserInputError(`invalid tasks for benchmark ${b.name}`, problems);
  if (!tasks.length) throw new UserInputError(`benchmark ${b.name} has no tasks`, [{ file: configName(ctx.project), line: 0, column: 0, keyPath: ["benchmarks", b.name, "tasks", "from"], message: "no tasks", hint: "name files or task directories with tasks in them" }]);
  await writeFile(join(ctx.outDir, BENCH_TASKS_FILE), tasks.map((t) => JSON.stringify(t)).join("\n") + "\n");
  const grid: BenchGrid = { arms: b.arms, samples: b.samples };
  await writeFile(join(ctx.outDir, BENCH_GRID_FILE), `${JSON.stringify(grid)}\n`);
  const unverified = tasks.filter((t) => !t.verify).length;
  ctx.log(`${tasks.length} tasks${unverified ? `, ${unverified} without a verifier (never counted as resolved)` : ""}`);
}

export async function readBenchGrid(dir: string): Promise<BenchGrid> {
  return JSON.parse(await readFile(join(dir, BENCH_GRID_FILE), "utf8")) as BenchGrid;
}

export async function readBenchTasks(dir: string): Promise<BenchTask[]> {
  const text = await readFile(join(dir, BENCH_TASKS_FILE), "utf8");
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as BenchTask);
}
