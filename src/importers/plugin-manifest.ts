import path from "node:path";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { fileProblem, isFile, lineColumnAt, readText, relPath } from "./files.js";

export const MANIFEST = path.join(".claude-plugin", "plugin.json");

export interface PluginManifest {
  /** Absolute path of the plugin root (the directory holding .claude-plugin/). */
  dir: string;
  /** Path of plugin.json relative to the project root. */
  file: string;
  name: string;
  /** Custom component paths from the manifest, relative to the plugin root; they add to the defaults. */
  agents: string[];
  skills: string[];
  /** 1-based line of each top-level key, for problems about custom paths. */
  keyLines: Record<string, number>;
}

/** A plugin reference may name the plugin root or its plugin.json; both mean the root. */
export async function pluginDir(abs: string): Promise<string> {
  return path.basename(abs) === "plugin.json" && (await isFile(abs)) ? path.dirname(path.dirname(abs)) : abs;
}

/** Reads and checks `.claude-plugin/plugin.json`, reporting every problem with its line. */
export async function readPluginManifest(root: string, dir: string): Promise<Result<PluginManifest, Problem[]>> {
  const abs = path.join(dir, MANIFEST);
  const file = relPath(root, abs);
  const text = await readText(abs);
  if (text === undefined) {
    return err([fileProblem(file, "plugin manifest not found", 'a plugin needs .claude-plugin/plugin.json with at least {"name": "..."}')]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return err([jsonProblem(file, text, (e as Error).message)]);
  }
  const keyLines = topLevelKeyLines(text);
  const at = (key: string, message: string, expected?: string): Problem => {
    const line = keyLines[key] ?? 1;
    const sourceLine = text.split("\n")[line - 1] ?? "";
    const column = sourceLine.indexOf(`"${key}"`) + 1 || 1;
    return { file, line, column, keyPath: [key], message, ...(expected ? { expected } : {}), sourceLine, length: key.length + 2 };
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return err([{ file, line: 1, column: 1, keyPath: [], message: "plugin.json must be a JSON object", expected: '{"name": "..."}' }]);
  }
  const obj = json as Record<string, unknown>;
  const problems: Problem[] = [];
  const name = obj["name"];
  if (typeof name !== "string" || name.trim() === "") {
    problems.push(at("name", name === undefined ? "plugin.json has no name" : "plugin name must be a non-empty string", "a non-empty string"));
  }
  const paths = (key: "agents" | "skills"): string[] => {
    const v = obj[key];
    if (v === undefined) return [];
    if (typeof v === "string") return [v];
    if (Array.isArray(v) && v.every((p) => typeof p === "string")) return v;
    problems.push(at(key, `${key} must be a path or a list of paths`, "a string or an array of strings, relative to the plugin root"));
    return [];
  };
  const agents = paths("agents");
  const skills = paths("skills");
  if (problems.length > 0) return err(problems);
  return ok({ dir, file, name: (name as string).trim(), agents, skills, keyLines });
}

/** V8 reports `... at position N (line L column C)`; without a position the problem is the whole file. */
function jsonProblem(file: string, text: string, message: string): Problem {
  const position = /position (\d+)/.exec(message)?.[1];
  const where = position === undefined ? { line: 0, column: 0 } : lineColumnAt(text, Number(position));
  return {
    file,
    ...where,
    keyPath: [],
    message: `plugin.json is not valid JSON: ${message.replace(/ in JSON at position.*$/, "")}`,
    ...(where.line > 0 ? { sourceLine: text.split("\n")[where.line - 1] ?? "", length: 1 } : {}),
  };
}

/** Line of each key of the top-level JSON object, found by scanning with string and depth tracking. */
function topLevelKeyLines(text: string): Record<string, number> {
  const lines: Record<string, number> = {};
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") line++;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    else if (ch === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      const isKey = /^\s*:/.test(text.slice(i + 1, i + 40));
      if (depth === 1 && isKey) lines[JSON.parse(text.slice(start, i + 1)) as string] ??= line;
    }
  }
  return lines;
}
