import { didYouMean } from "../errors.js";
import { canonicalToolName } from "../tools/names.js";
import { byCodeUnit } from "./files.js";
import type { ImportWarning, ToolSet } from "./types.js";

/** Claude Code's built-in tool names, as written in `tools:` and permission rules. */
export const CANONICAL_TOOLS: readonly string[] = [
  "Agent", "Bash", "BashOutput", "KillShell", "Read", "Write", "Edit", "MultiEdit", "Glob", "Grep",
  "LS", "NotebookRead", "NotebookEdit", "WebFetch", "WebSearch", "TodoWrite", "Skill",
  "SlashCommand", "ExitPlanMode",
];

/** Where the tool fields were found, so warnings point at them. */
export interface ToolFields {
  file: string;
  /** The allow-list (`tools`, or a skill's `allowed-tools`); undefined or null means every tool. */
  allowed: unknown;
  allowedLine: number;
  disallowed: unknown;
  disallowedLine: number;
}

interface Entry {
  name: string;
  pattern?: string;
}

/**
 * Normalizes tool fields into a ToolSet. `disallowedTools` applies first: a tool named in both
 * lists is not allowed. With no allow-list, `allowed` is every canonical tool minus the disallowed
 * ones, so consumers can read one list whatever the source wrote.
 */
export function normalizeTools(f: ToolFields): { tools: ToolSet; warnings: ImportWarning[] } {
  const warnings: ImportWarning[] = [];
  const warn = (line: number, message: string) => warnings.push({ file: f.file, line, message });

  const denied = new Set<string>();
  for (const entry of toEntries(f.disallowed, f.disallowedLine, warn)) {
    const name = canonical(entry.name, f.disallowedLine, warn);
    // A deny rule narrowed to a pattern cannot be expressed in a ToolSet; denying the whole tool
    // errs on the side of a subagent that can do less, never more.
    if (entry.pattern !== undefined) {
      warn(f.disallowedLine, `disallowed pattern ${entry.name}(${entry.pattern}) is applied to the whole ${name} tool`);
    }
    denied.add(name);
  }

  const all = f.allowed === undefined || f.allowed === null || f.allowed === "";
  const allowed = new Set<string>();
  const mcp = new Set<string>();
  const patterns: Record<string, string[]> = {};
  const bare = new Set<string>();
  if (all) {
    for (const name of CANONICAL_TOOLS) if (!denied.has(name)) allowed.add(name);
  } else {
    for (const entry of toEntries(f.allowed, f.allowedLine, warn)) {
      const name = canonical(entry.name, f.allowedLine, warn);
      if (denied.has(name)) continue;
      if (name.startsWith("mcp__")) {
        mcp.add(entry.pattern === undefined ? name : `${name}(${entry.pattern})`);
        continue;
      }
      allowed.add(name);
      if (entry.pattern === undefined) bare.add(name);
      else (patterns[name] ??= []).push(entry.pattern);
    }
  }
  for (const name of [...mcp].sort(byCodeUnit)) {
    const server = name.split("__")[1] ?? "";
    warn(f.allowedLine, `tool ${name} comes from the MCP server "${server}": the distilled model needs an MCP provider for it`);
  }
  // A bare name allows every use of the tool, so patterns beside it restrict nothing.
  for (const name of bare) delete patterns[name];
  for (const list of Object.values(patterns)) list.sort(byCodeUnit);

  return {
    tools: {
      all,
      allowed: [...allowed].sort(byCodeUnit),
      disallowed: [...denied].sort(byCodeUnit),
      mcp: [...mcp].sort(byCodeUnit),
      patterns: Object.fromEntries(Object.entries(patterns).sort(([a], [b]) => byCodeUnit(a, b))),
    },
    warnings,
  };
}

/** Resolves old names (Task, View, GlobTool, ... in src/tools/names.ts); keeps unknown names verbatim, with a warning. */
function canonical(name: string, line: number, warn: (line: number, message: string) => void): string {
  const resolved = canonicalToolName(name);
  if (resolved.startsWith("mcp__") || CANONICAL_TOOLS.includes(resolved)) return resolved;
  const guess = didYouMean(name, CANONICAL_TOOLS);
  warn(line, `unknown tool ${JSON.stringify(name)} is kept as written${guess ? `; did you mean "${guess}"?` : ""}`);
  return resolved;
}

/** A tools field (comma/space-separated string or list) as entries `Name` or `Name(pattern)`. */
function toEntries(value: unknown, line: number, warn: (line: number, message: string) => void): Entry[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  const entries: Entry[] = [];
  for (const item of items) {
    if (typeof item !== "string") {
      warn(line, `ignored tool entry ${JSON.stringify(item)}: expected a tool name`);
      continue;
    }
    for (const quoted of splitToolList(item, ", \t\n")) {
      const part = quoted.replace(/^(["'])(.*)\1$/s, "$2");
      const m = /^([^()]+)\((.*)\)$/s.exec(part);
      entries.push(m ? { name: m[1]!.trim(), pattern: m[2]!.trim() } : { name: part });
    }
  }
  return entries;
}

/**
 * Splits on any of `separators` outside parentheses and quotes, dropping empty parts:
 * `Read, Bash(git diff:*)` is two tools although the pattern holds a space.
 */
export function splitToolList(text: string, separators: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = "";
  let current = "";
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = "";
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === "(") {
      depth++;
    } else if (ch === ")") {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0 && separators.includes(ch)) {
      parts.push(current);
      current = "";
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}
