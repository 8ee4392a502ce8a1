import { join } from "node:path";
import type * as z from "zod";
import { dockerfileEnvSchema, imageEnvSchema, repoEnvSchema, solutionSchema, verifierSchema, type ContainerFile, type TaskEnv } from "../../envs/types.js";
import type { Problem } from "../../errors.js";
import { toRawTask } from "../../stages/task-files.js";
import { containerFile, containerFilesUnder } from "./container-files.js";
import { isDirectory } from "./sources.js";
import type { Imported } from "./types.js";

type At = Omit<Problem, "message">;

/**
 * Our JSONL: each non-blank line is a JSON string (the prompt) or an object with `prompt` (alias
 * `task`), optional `id`, `tags`, `env`, `verify` and `solution`; other keys are kept as metadata.
 * `verify.files` and `solution.files` may name project paths (files or directories), copied
 * under /tests/ and /solution/; they are read here, so tasks.jsonl carries them inline.
 */
export function readJsonlTasks(root: string, rel: string, text: string): Imported {
  const out: Imported = { tasks: [], problems: [] };
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const at: At = { file: rel, line: i + 1, column: 1, keyPath: [], sourceLine: line, length: line.length };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      out.problems.push({ ...at, message: `not valid JSON (${(e as Error).message})`, hint: 'each line is one task: {"prompt": "..."} or a JSON string' });
      return;
    }
    const object = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    // env, verify and solution are checked here; toRawTask sees the rest (its other keys become meta).
    const { env, verify, solution, ...rest } = object ?? {};
    const parsed = toRawTask(object ? rest : value);
    const problems: Problem[] = [];
    if (typeof parsed === "string") problems.push({ ...at, message: parsed, expected: '{"prompt": "<non-empty text>", "id"?: "...", "tags"?: ["..."]}' });
    const taskEnv = env === undefined ? undefined : parseEnv(env, at, problems);
    const verifier = verify === undefined ? undefined : parseRun(verifierSchema, verify, "verify", "/tests", root, at, problems);
    const sol = solution === undefined ? undefined : parseRun(solutionSchema, solution, "solution", "/solution", root, at, problems);
    if (problems.length || typeof parsed === "string") {
      out.problems.push(...problems);
      return;
    }
    out.tasks.push({
      ...parsed,
      ...(taskEnv ? { env: taskEnv } : {}),
      ...(verifier ? { verify: verifier } : {}),
      ...(sol ? { solution: sol } : {}),
      origin: `${rel}:${i + 1}`,
    });
  });
  return out;
}

/** The env schema its keys point at, so a problem names what is wrong with that kind, not "no union member matched". */
function parseEnv(value: unknown, at: At, problems: Problem[]): TaskEnv | undefined {
  const keys = typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  const schema = keys.includes("image") ? imageEnvSchema : keys.includes("repo") ? repoEnvSchema : keys.includes("dockerfile") ? dockerfileEnvSchema : undefined;
  if (!schema) {
    problems.push({ ...at, keyPath: ["env"], message: "env names no environment", expected: '{"image": ...}, {"repo": ..., "commit": ...} or {"dockerfile": "<directory>"}' });
    return undefined;
  }
  return checked(schema, value, ["env"], at, problems);
}

/** A verifier or solution, its `files` strings resolved to inline files under `targetDir`. */
function parseRun<S extends z.ZodType>(schema: S, value: unknown, key: string, targetDir: string, root: string, at: At, problems: Problem[]): z.output<S> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push({ ...at, keyPath: [key], message: `${key} must be an object`, expected: '{"command": "...", "files"?: [...], "timeout_s"?: n}' });
    return undefined;
  }
  const files = (value as Record<string, unknown>).files;
  if (!Array.isArray(files)) return checked(schema, value, [key], at, problems);
  const resolved: unknown[] = [];
  files.forEach((f, i) => {
    if (typeof f !== "string") return resolved.push(f);
    const found = hostFiles(root, f, targetDir);
    if (typeof found === "string") problems.push({ ...at, keyPath: [key, "files", i], message: found, hint: "paths in files are relative to the project directory" });
    else resolved.push(...found);
  });
  return checked(schema, { ...value, files: resolved }, [key], at, problems);
}

function hostFiles(root: string, rel: string, targetDir: string): ContainerFile[] | string {
  const abs = join(root, rel);
  try {
    if (isDirectory(abs)) return containerFilesUnder(abs, targetDir);
    return [containerFile(abs, `${targetDir}/${rel.split("/").pop()}`)];
  } catch {
    return `${rel} not found`;
  }
}

function checked<S extends z.ZodType>(schema: S, value: unknown, base: (string | number)[], at: At, problems: Problem[]): z.output<S> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    problems.push({ ...at, keyPath: [...base, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))], message: issue.message });
  }
  return undefined;
}
