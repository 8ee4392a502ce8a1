import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { fileProblem, isFile, relPath } from "./files.js";

/** A plugin's MCP servers file, beside .claude-plugin/: `{"mcpServers": {name: {command, ...}}}`. */
export const PLUGIN_MCP = ".mcp.json";

/**
 * The servers a plugin declares, or undefined without a .mcp.json. `${CLAUDE_PLUGIN_ROOT}`, which
 * Claude Code sets to the plugin's folder, becomes that folder relative to the project root: the
 * servers start in the project root, and spec.json stays the same on every machine.
 */
export async function readPluginMcp(root: string, pluginDir: string): Promise<Result<Record<string, unknown> | undefined, Problem[]>> {
  const file = path.join(pluginDir, PLUGIN_MCP);
  if (!(await isFile(file))) return ok(undefined);
  const rel = relPath(root, file);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    return err([fileProblem(rel, `not valid JSON: ${(e as Error).message}`)]);
  }
  const servers = value !== null && typeof value === "object" ? (value as Record<string, unknown>)["mcpServers"] : undefined;
  if (servers === null || typeof servers !== "object" || Array.isArray(servers)) {
    return err([fileProblem(rel, 'expected {"mcpServers": {<name>: {"command": ..., "args": [...]}}}')]);
  }
  const pluginRoot = relPath(root, pluginDir) || ".";
  return ok(withPluginRoot(servers, pluginRoot) as Record<string, unknown>);
}

function withPluginRoot(value: unknown, pluginRoot: string): unknown {
  if (typeof value === "string") return value.replaceAll("${CLAUDE_PLUGIN_ROOT}", pluginRoot);
  if (Array.isArray(value)) return value.map((v) => withPluginRoot(v, pluginRoot));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPluginRoot(v, pluginRoot)]));
  return value;
}
