import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { EnvLimits, TaskEnv } from "../../envs/types.js";
import type { Problem } from "../../errors.js";
import type { RawTask, SourcedTask } from "../../stages/task-files.js";
import { containerFilesUnder } from "./container-files.js";
import { isDirectory, projectPath } from "./sources.js";
import { fileProblem, sanitizeId } from "./types.js";

/**
 * A Harbor task directory (Terminal-Bench 2 is in this format):
 *   task.toml        [agent] timeout_sec, [verifier] timeout_sec, [environment] docker_image,
 *                    cpus, memory_mb, allow_internet; [metadata] (tags and the rest kept as meta)
 *   instruction.md   the prompt
 *   environment/     the Dockerfile's build context, unless docker_image names an image
 *   tests/test.sh    the verifier (+ the other files of tests/), writing /logs/verifier/reward.txt or .json
 *   solution/solve.sh  an optional reference solution (+ the other files of solution/)
 */
export function readHarborTask(root: string, dir: string): { task?: SourcedTask; problems: Problem[] } {
  const rel = projectPath(root, dir);
  const tomlFile = `${rel}/task.toml`;
  const problems: Problem[] = [];
  const text = readFileSync(join(dir, "task.toml"), "utf8");
  let doc: Record<string, unknown> = {};
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    const at = e instanceof TomlError ? { line: e.line, column: e.column, sourceLine: text.split(/\r?\n/)[e.line - 1] ?? "" } : {};
    problems.push(fileProblem(tomlFile, `not valid TOML (${(e as Error).message.split("\n")[0]})`, at));
  }
  const field = tomlFields(doc, text, tomlFile, problems);
  const agentTimeout = field("agent", "timeout_sec", "number");
  const verifierTimeout = field("verifier", "timeout_sec", "number");
  const image = field("environment", "docker_image", "string");
  const cpus = field("environment", "cpus", "number");
  const memory = field("environment", "memory_mb", "integer");
  const internet = field("environment", "allow_internet", "boolean");
  const metadata = isTable(doc.metadata) ? (JSON.parse(JSON.stringify(doc.metadata)) as Record<string, unknown>) : {};

  const prompt = readText(join(dir, "instruction.md"));
  if (prompt === undefined) problems.push(fileProblem(`${rel}/instruction.md`, "missing: a Harbor task's instruction.md is its prompt"));
  else if (!prompt.trim()) problems.push(fileProblem(`${rel}/instruction.md`, "empty: a Harbor task's instruction.md is its prompt"));
  if (!existsSync(join(dir, "tests", "test.sh"))) problems.push(fileProblem(`${rel}/tests/test.sh`, "missing: a Harbor task's verifier is tests/test.sh"));
  if (image === undefined && !existsSync(join(dir, "environment", "Dockerfile"))) {
    problems.push(fileProblem(`${rel}/environment/Dockerfile`, "missing: without [environment] docker_image, a Harbor task is built from environment/Dockerfile"));
  }
  const hasSolution = isDirectory(join(dir, "solution"));
  if (hasSolution && !existsSync(join(dir, "solution", "solve.sh"))) problems.push(fileProblem(`${rel}/solution/solve.sh`, "missing: solution/ is run as bash /solution/solve.sh"));
  if (problems.length || prompt === undefined) return { problems };

  const limits: EnvLimits = {
    ...(cpus !== undefined ? { cpus } : {}),
    ...(memory !== undefined ? { memory_mb: memory } : {}),
    ...(internet !== undefined ? { network: internet ? ("bridge" as const) : ("none" as const) } : {}),
  };
  const withLimits = Object.keys(limits).length ? { limits } : {};
  const env: TaskEnv = image !== undefined ? { image, ...withLimits } : { dockerfile: `${rel}/environment`, ...withLimits };
  const tags = Array.isArray(metadata.tags) && metadata.tags.every((t) => typeof t === "string") ? (metadata.tags as string[]) : undefined;
  const task: RawTask = {
    id: sanitizeId(basename(dir)),
    prompt,
    ...(tags ? { tags } : {}),
    meta: { format: "harbor", ...metadata, ...(agentTimeout !== undefined ? { agent_timeout_s: agentTimeout } : {}) },
    env,
    verify: {
      command: "bash /tests/test.sh",
      // Its harness runs the tests as root.
      user: "root",
      files: containerFilesUnder(join(dir, "tests"), "/tests"),
      timeout_s: verifierTimeout ?? 600,
      success: { kind: "reward_file", dir: "/logs/verifier" },
    },
  };
  if (hasSolution) {
    // The reference solution stands in for the agent, so it gets the agent's time.
    task.solution = { user: "root", command: "bash /solution/solve.sh", files: containerFilesUnder(join(dir, "solution"), "/solution"), timeout_s: agentTimeout ?? 600 };
  }
  return { task: { ...task, origin: tomlFile }, problems };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

type Kind = "number" | "integer" | "string" | "boolean";
type Of<K extends Kind> = K extends "string" ? string : K extends "boolean" ? boolean : number;

const EXPECTED: Record<Kind, string> = { number: "a positive number", integer: "a positive integer", string: "a non-empty string", boolean: "true or false" };

/** Reads `[section] key` of the document, or records a problem located at the key's line. */
function tomlFields(doc: Record<string, unknown>, text: string, file: string, problems: Problem[]) {
  return <K extends Kind>(section: string, key: string, kind: K): Of<K> | undefined => {
    const table = doc[section];
    const v = isTable(table) ? table[key] : undefined;
    if (v === undefined) return undefined;
    const fits =
      kind === "string" ? typeof v === "string" && v.trim() !== "" :
      kind === "boolean" ? typeof v === "boolean" :
      typeof v === "number" && v > 0 && (kind === "number" || Number.isInteger(v));
    if (fits) return v as Of<K>;
    const line = keyLine(text, section, key);
    problems.push({
      file,
      line,
      column: line ? 1 : 0,
      keyPath: [section, key],
      message: `${section}.${key} must be ${EXPECTED[kind]}`,
      expected: EXPECTED[kind],
      ...(line ? { sourceLine: text.split(/\r?\n/)[line - 1] ?? "" } : {}),
    });
    return undefined;
  };
}

/** The line of `key = ...` under `[section]`, for the squiggle; 0 when written some other way (dotted keys, inline tables). */
function keyLine(text: string, section: string, key: string): number {
  let current = "";
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(lines[i]!);
    if (header) current = header[1]!;
    else if (current === section && new RegExp(`^\\s*"?${key}"?\\s*=`).test(lines[i]!)) return i + 1;
  }
  return 0;
}
