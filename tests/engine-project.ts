import { appendFileSync, copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject, REPO } from "./helpers.js";

export function taskLines(n: number, start = 1): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ id: `t${start + i}`, prompt: `task number ${start + i}` })).join("\n") + "\n";
}

/** A project with one inline subagent, a task file and the map-traces test plugin. */
export function engineProject(opts: { tasks?: number; holdout?: number } = {}): string {
  const dir = makeProject({
    "subagents.yaml": [
      "version: 1",
      "plugins: [plugins/map-traces.mjs]",
      "subagents:",
      "  alpha:",
      // The fixture's traces are not real ones: the engine tests' pipeline ends there.
      "    until: traces",
      "    source:",
      "      inline:",
      "        description: Answers questions about the repository",
      "        prompt: You answer questions.",
      "    tasks:",
      "      from: tasks.jsonl",
      `      holdout: ${opts.holdout ?? 0}`,
      // Never more than the file holds: these projects build without a teacher.
      "      count: 1",
      "",
    ].join("\n"),
    "tasks.jsonl": taskLines(opts.tasks ?? 6),
  });
  mkdirSync(join(dir, "plugins"), { recursive: true });
  copyFileSync(join(REPO, "tests/fixtures/plugins/map-traces.mjs"), join(dir, "plugins/map-traces.mjs"));
  return dir;
}

export function addTasks(dir: string, n: number, start: number): void {
  appendFileSync(join(dir, "tasks.jsonl"), taskLines(n, start));
}

export function runLog(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}
