import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { ContainerFile } from "../../envs/types.js";
import type { Problem } from "../../errors.js";
import type { RawTask, SourcedTask } from "../../stages/task-files.js";
import { containerFile, containerFilesUnder } from "./container-files.js";
import { isDirectory, projectPath } from "./sources.js";
import { fileProblem, sanitizeId } from "./types.js";

/**
 * A Terminal-Bench 1 task directory:
 *   task.yaml      instruction (the prompt), optional max_agent_timeout_sec, max_test_timeout_sec, tags
 *   Dockerfile     the environment (the directory is the build context)
 *   run-tests.sh   the verifier, passing when it exits 0; tests/ holds what it runs
 *   solution.sh    an optional reference solution
 */
export function readTerminalBenchTask(root: string, dir: string): { task?: SourcedTask; problems: Problem[] } {
  const rel = projectPath(root, dir);
  const yamlFile = `${rel}/task.yaml`;
  const problems: Problem[] = [];
  const text = readFileSync(join(dir, "task.yaml"), "utf8");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    problems.push(fileProblem(yamlFile, `not valid YAML (${e.message.split("\n")[0]})`, { line: pos.line, column: pos.col, sourceLine: text.split(/\r?\n/)[pos.line - 1] ?? "" }));
  }
  const data: unknown = doc.errors.length ? {} : doc.toJS();
  const o = typeof data === "object" && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  if (!doc.errors.length && o !== data) problems.push(fileProblem(yamlFile, "task.yaml must be a mapping"));
  const { instruction, max_agent_timeout_sec: agentTimeout, max_test_timeout_sec: testTimeout, tags, ...rest } = o;
  const prompt = typeof instruction === "string" ? instruction : baseDescription(o.descriptions);
  if (!doc.errors.length && (prompt === undefined || !prompt.trim())) {
    problems.push(fileProblem(yamlFile, "missing instruction: a non-empty string, the task's prompt", { keyPath: ["instruction"] }));
  }
  for (const [key, v] of [["max_agent_timeout_sec", agentTimeout], ["max_test_timeout_sec", testTimeout]] as const) {
    if (v !== undefined && (typeof v !== "number" || v <= 0)) problems.push(fileProblem(yamlFile, `${key} must be a positive number`, { keyPath: [key] }));
  }
  if (!existsSync(join(dir, "Dockerfile"))) problems.push(fileProblem(`${rel}/Dockerfile`, "missing: a Terminal-Bench task's environment is the Dockerfile of its directory"));
  if (!existsSync(join(dir, "run-tests.sh"))) problems.push(fileProblem(`${rel}/run-tests.sh`, "missing: a Terminal-Bench task's verifier is run-tests.sh"));
  if (problems.length || prompt === undefined) return { problems };

  const files: ContainerFile[] = [
    ...(isDirectory(join(dir, "tests")) ? containerFilesUnder(join(dir, "tests"), "/tests") : []),
    { ...containerFile(join(dir, "run-tests.sh"), "/tests/run-tests.sh"), mode: 0o755 },
  ];
  const stringTags = Array.isArray(tags) && tags.every((t) => typeof t === "string") ? (tags as string[]) : undefined;
  const { descriptions: _descriptions, ...meta } = rest;
  const task: RawTask = {
    id: sanitizeId(basename(dir)),
    prompt,
    ...(stringTags ? { tags: stringTags } : {}),
    meta: { format: "terminal-bench", ...meta, ...(typeof agentTimeout === "number" ? { agent_timeout_s: agentTimeout } : {}) },
    env: { dockerfile: rel },
    verify: {
      // Terminal-Bench's harness sets TEST_DIR; its run-tests.sh scripts read the tests from there.
      command: "TEST_DIR=/tests bash /tests/run-tests.sh",
      // Its harness runs the tests as root.
      user: "root",
      files,
      timeout_s: typeof testTimeout === "number" ? testTimeout : 600,
      success: { kind: "exit_code" },
    },
  };
  if (existsSync(join(dir, "solution.sh"))) {
    task.solution = { user: "root", command: "bash /solution/solution.sh", files: [containerFile(join(dir, "solution.sh"), "/solution/solution.sh")], timeout_s: typeof agentTimeout === "number" ? agentTimeout : 600 };
  }
  return { task: { ...task, origin: yamlFile }, problems };
}

/** Older Terminal-Bench tasks: `descriptions: [{key: base, description: ...}]` instead of instruction. */
function baseDescription(descriptions: unknown): string | undefined {
  if (!Array.isArray(descriptions)) return undefined;
  const base = descriptions.find((d) => typeof d === "object" && d !== null && (d as Record<string, unknown>).key === "base") as Record<string, unknown> | undefined;
  return typeof base?.description === "string" ? base.description : undefined;
}
