import type { ToolSet } from "../importers/types.js";
import { bashTool } from "./bash.js";
import { failure } from "./define.js";
import { editTool, multiEditTool } from "./edit.js";
import { globTool } from "./glob.js";
import { grepTool } from "./grep.js";
import { lsTool } from "./ls.js";
import { canonicalToolName } from "./names.js";
import { notebookEditTool, notebookReadTool } from "./notebook-tools.js";
import { readTool } from "./read.js";
import { bashOutputTool, killShellTool } from "./shells.js";
import { todoWriteTool } from "./todo.js";
import { webFetchTool, webSearchTool } from "./web.js";
import { writeTool } from "./write.js";
import type { AgentTool, FunctionToolDef, ToolContext, ToolResult } from "./types.js";

export type * from "./types.js";
export { TOOL_ALIASES, canonicalToolName } from "./names.js";
export { TOOLS_VERSION } from "./version.js";

/** Every implemented tool, in the order models are shown them. */
export const TOOLS: readonly AgentTool[] = [
  bashTool,
  bashOutputTool,
  killShellTool,
  globTool,
  grepTool,
  lsTool,
  readTool,
  editTool,
  multiEditTool,
  writeTool,
  notebookReadTool,
  notebookEditTool,
  webFetchTool,
  webSearchTool,
  todoWriteTool,
];

/**
 * The tools a subagent gets, and the names it asks for that have no implementation here
 * (Agent, Skill, ...). `mcpAvailable` lists the `mcp__<server>__<tool>` names its declared MCP
 * servers offer: an MCP name is given when its server offers it (`mcp__<server>` alone gives all
 * of that server's tools) and unsupported otherwise. A ToolSet with `all` gets every implemented
 * tool and every offered MCP tool except the disallowed ones, and nothing is unsupported.
 * Patterns such as `Bash(git log:*)` grant permission in Claude Code rather than restrict the
 * tool, so the whole tool is given.
 */
export function resolveTools(toolset: ToolSet, mcpAvailable: readonly string[] = []): { tools: AgentTool[]; mcp: string[]; unsupported: string[] } {
  if (toolset.all) {
    const denied = new Set(toolset.disallowed.map(canonicalToolName));
    return { tools: TOOLS.filter((t) => !denied.has(t.name)), mcp: mcpAvailable.filter((n) => !denied.has(n)), unsupported: [] };
  }
  const wanted = new Set(toolset.allowed.map(canonicalToolName));
  const tools = TOOLS.filter((t) => wanted.has(t.name));
  const known = new Set(tools.map((t) => t.name));
  const unsupported = [...wanted].filter((name) => !known.has(name));
  const mcp = new Set<string>();
  for (const written of toolset.mcp) {
    const name = written.replace(/\(.*\)$/s, "");
    const offered = mcpAvailable.filter((n) => n === name || (name.split("__").length === 2 && n.startsWith(`${name}__`)));
    if (offered.length === 0) unsupported.push(written);
    for (const n of offered) mcp.add(n);
  }
  return { tools, mcp: mcpAvailable.filter((n) => mcp.has(n)), unsupported: [...new Set(unsupported)].sort() };
}

/** The tools with these canonical names, in TOOLS order; for stages that read tools.json. */
export function toolsNamed(names: readonly string[]): AgentTool[] {
  const wanted = new Set(names.map(canonicalToolName));
  return TOOLS.filter((t) => wanted.has(t.name));
}

/** The OpenAI `tools` request field for these tools. */
export function toOpenAiTools(tools: readonly AgentTool[]): FunctionToolDef[] {
  return tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } }));
}

/**
 * Runs one tool call as the model wrote it: `rawArguments` is the JSON string from the API.
 * Unknown tools, malformed JSON and invalid arguments come back as tool errors the model can
 * correct, never as exceptions. Only a sandbox that is gone (SandboxError) throws.
 */
export async function runToolCall(tools: readonly AgentTool[], name: string, rawArguments: string, ctx: ToolContext): Promise<ToolResult> {
  const tool = tools.find((t) => t.name === name) ?? tools.find((t) => t.aliases.includes(name));
  if (!tool) {
    const available = tools.map((t) => t.name).join(", ");
    return failure(`No such tool available: ${name}. The available tools are: ${available || "none"}.`);
  }
  let args: unknown;
  try {
    args = rawArguments.trim() === "" ? {} : JSON.parse(rawArguments);
  } catch (e) {
    return failure(`The arguments for ${tool.name} are not valid JSON (${(e as Error).message}). Send one JSON object, e.g. ${example(tool)}.`);
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    return failure(`The arguments for ${tool.name} must be a JSON object, e.g. ${example(tool)}.`);
  }
  // Models often send null for an optional parameter they mean to leave out.
  const given = Object.fromEntries(Object.entries(args).filter(([, value]) => value !== null));
  return tool.run(given, ctx);
}

/** A JSON object naming the tool's required parameters, for error messages. */
function example(tool: AgentTool): string {
  const required = (tool.parameters["required"] as string[] | undefined) ?? [];
  return JSON.stringify(Object.fromEntries(required.map((name) => [name, "..."])));
}
