import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Problem } from "../../errors.js";
import type { RawTask } from "../../stages/task-files.js";
import { jsonArrayElementLines } from "./json-lines.js";
import { sweBenchVerifier, type TestLists } from "./swe-bench-verify.js";
import { fileProblem, sanitizeId, type Imported } from "./types.js";

type At = Omit<Problem, "message">;

/**
 * SWE-bench and the sets derived from it (SWE-bench Lite/Verified, SWE-Gym, SWE-smith, ...): a
 * JSON array of instances (.json, as the datasets are exported) or one instance per line.
 */
export function readSweBenchTasks(root: string, rel: string, text: string): Imported {
  const out: Imported = { tasks: [], problems: [] };
  if (text.trimStart().startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      out.problems.push(fileProblem(rel, `not valid JSON (${(e as Error).message})`, { hint: "a SWE-bench file is a JSON array of instances, or one instance per line" }));
      return out;
    }
    if (!Array.isArray(value)) {
      out.problems.push(fileProblem(rel, "not a JSON array of instances"));
      return out;
    }
    const lines = jsonArrayElementLines(text);
    value.forEach((instance, i) => {
      const line = lines[i] ?? 0;
      add(out, root, instance, { file: rel, line, column: line ? 1 : 0, keyPath: [i] }, `${rel}:${line}`);
    });
    return out;
  }
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const at: At = { file: rel, line: i + 1, column: 1, keyPath: [], sourceLine: line, length: line.length };
    try {
      add(out, root, JSON.parse(line), at, `${rel}:${i + 1}`);
    } catch (e) {
      out.problems.push({ ...at, message: `not valid JSON (${(e as Error).message})`, hint: "each line is one SWE-bench instance" });
    }
  });
  return out;
}

function add(out: Imported, root: string, instance: unknown, at: At, origin: string): void {
  const r = instanceTask(root, instance, at);
  if (r.problems.length) out.problems.push(...r.problems);
  else out.tasks.push({ ...r.task!, origin });
}

/** One instance as a task: its problem statement is the prompt, its tests the verifier. */
export function instanceTask(root: string, instance: unknown, at: At): { task?: RawTask; problems: Problem[] } {
  const problems: Problem[] = [];
  const bad = (key: string, message: string, expected?: string): void => {
    problems.push({ ...at, keyPath: [...at.keyPath, key], message, ...(expected ? { expected } : {}) });
  };
  if (typeof instance !== "object" || instance === null || Array.isArray(instance)) {
    problems.push({ ...at, message: "an instance must be a JSON object", expected: '{"instance_id": ..., "repo": ..., "base_commit": ..., "problem_statement": ...}' });
    return { problems };
  }
  const o = instance as Record<string, unknown>;
  const text = (key: string, required: boolean): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) bad(key, `missing "${key}"`, "a non-empty string");
      return undefined;
    }
    if (typeof v !== "string" || (required && !v.trim())) {
      bad(key, `"${key}" must be a${required ? " non-empty" : ""} string`);
      return undefined;
    }
    return v;
  };
  const instanceId = text("instance_id", true);
  const prompt = text("problem_statement", true);
  const image = text("image_name", false) ?? text("docker_image", false);
  // Without an image the repository is built from repo@base_commit, so both are needed then.
  const repo = text("repo", !image);
  const baseCommit = text("base_commit", !image);
  const testPatch = text("test_patch", false);
  const goldPatch = text("patch", false);
  const tests: TestLists = { fail_to_pass: testList(o, "FAIL_TO_PASS", bad), pass_to_pass: testList(o, "PASS_TO_PASS", bad) };
  if (problems.length || !instanceId || !prompt) return { problems };

  const meta: Record<string, unknown> = { format: "swe-bench" };
  for (const key of ["repo", "base_commit", "hints_text", "environment_setup_commit", "version", "created_at"]) {
    if (o[key] !== undefined && o[key] !== null) meta[key] = o[key];
  }
  const task: RawTask = {
    id: sanitizeId(instanceId),
    // hints_text stays in meta: SWE-bench's own runs leave it out of the prompt.
    prompt,
    meta,
    env: image ? { image, workdir: "/testbed" } : { repo: repoSource(root, repo!), commit: baseCommit! },
  };
  if (tests.fail_to_pass || tests.pass_to_pass) task.verify = sweBenchVerifier(tests, testPatch, baseCommit);
  if (goldPatch?.trim()) {
    task.solution = { command: "git apply -v /tmp/sabuild/gold.patch", files: [{ path: "/tmp/sabuild/gold.patch", content: goldPatch, encoding: "utf8" }], timeout_s: 600 };
  }
  return { task, problems };
}

/** FAIL_TO_PASS / PASS_TO_PASS: a JSON-encoded list in princeton-nlp/SWE-bench, a plain list in derived sets. */
function testList(o: Record<string, unknown>, key: string, bad: (key: string, message: string, expected?: string) => void): string[] | undefined {
  let v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      bad(key, `"${key}" is a string but not a JSON-encoded list`, 'a list of test ids, or a JSON string of one: "[\\"tests/test_x.py::test_y\\"]"');
      return undefined;
    }
  }
  if (!Array.isArray(v) || v.some((t) => typeof t !== "string")) {
    bad(key, `"${key}" must be a list of test ids`, 'a list of strings, e.g. ["tests/test_x.py::test_y"]');
    return undefined;
  }
  return v as string[];
}

/**
 * `repo` as the environment names it: a URL (or scp-like git address) as it is; `./`, `../` or
 * an absolute path, or a relative path that exists in the project, as a local repository; any
 * other `owner/name` as the GitHub repository SWE-bench means by it.
 */
export function repoSource(root: string, repo: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[\w.-]+@[\w.-]+:/.test(repo)) return repo;
  if (/^\.{0,2}\//.test(repo) || existsSync(join(root, repo))) return repo;
  if (/^[\w.-]+\/[\w.-]+$/.test(repo)) return `https://github.com/${repo}.git`;
  return repo;
}
