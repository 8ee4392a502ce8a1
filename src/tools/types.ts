import type { SandboxSession } from "../sandbox/types.js";

/**
 * Agent tools (Bash, Read, Write, Edit, Glob, Grep, LS, WebFetch, WebSearch) as OpenAI function
 * tools. Argument schemas follow Claude Code's, so traces look like what real subagents emit.
 */

export type JsonSchema = { [key: string]: unknown };

/** The OpenAI `tools` entry for one function tool. */
export interface FunctionToolDef {
  type: "function";
  function: { name: string; description: string; parameters: JsonSchema };
}

/** Pluggable provider for WebFetch and WebSearch; none configured means a clear tool error. */
export interface WebProvider {
  fetch(url: string, prompt: string, signal?: AbortSignal, recorded?: (r: RecordedResult) => void): Promise<string>;
  search(query: string, options: { allowed_domains?: string[]; blocked_domains?: string[] }, signal?: AbortSignal, recorded?: (r: RecordedResult) => void): Promise<string>;
}

/**
 * A stored result a tool call used (a search, a page): its record key and the digest of its
 * content in the store, so a trace says exactly which results its agent saw, and a replay can be
 * checked against them. `from`: live (fetched now) or stored (recorded earlier).
 */
export interface RecordedResult {
  kind: "search" | "fetch" | "mcp";
  key: string;
  digest: string;
  from: "live" | "stored";
}

export interface ToolContext {
  sandbox: SandboxSession;
  signal?: AbortSignal;
  web?: WebProvider;
  /** Told of each stored result the call used; the rollout keeps them in the trace. */
  recorded?: (r: RecordedResult) => void;
}

/** What the model sees as the tool message content; isError marks tool errors for stats. */
export interface ToolResult {
  content: string;
  isError: boolean;
}

export interface AgentTool {
  /** Canonical name, as Claude Code spells it (Bash, Read, ...). */
  name: string;
  /** Older names real agent files still use (e.g. LS for the list tool). */
  aliases: string[];
  description: string;
  parameters: JsonSchema;
  /** Never throws for bad arguments or failing commands: those are tool errors the model sees. */
  run(args: unknown, ctx: ToolContext): Promise<ToolResult>;
}

/** The import stage's tools.json: the tools a subagent gets, read by the stages after it. */
export interface ImportedTools {
  /** TOOLS_VERSION of the implementation that resolved them. */
  version: string;
  /** Canonical names of the tools the subagent gets, in the order models see them (see toolsNamed). */
  resolved: string[];
  /** Tools the source names that have no implementation, dropped under `unsupported_tools: ignore`. */
  dropped: string[];
  /** The OpenAI `tools` request field (MCP tools with the schemas their servers listed). */
  definitions: FunctionToolDef[];
  /** The MCP tools the subagent gets (also in resolved and definitions), by declared server. */
  mcp: ImportedMcpServer[];
}

export interface ImportedMcpServer {
  server: string;
  /**
   * `name` as the model calls it (mcp__<server>__<tool>), `tool` as the server names it. For a
   * server in the sandbox, which import cannot start, the tools the agent named (`tool` as
   * written): the rollout checks that the server lists them.
   */
  tools: { name: string; tool: string }[];
  /** Where the server runs (tools.json of imports before this field: host). */
  runs: "sandbox" | "host" | "http";
  /** A server in the sandbox that the agent named alone (or an agent that names no tools): every tool it lists. */
  all?: boolean;
  /**
   * The declaration as written, `${VAR}` templates unresolved: in the output, so that a changed
   * command, argument or environment reruns the rollouts that used the server.
   */
  declared?: { [key: string]: unknown };
}

/** Which tools an MCP server offered a rollout, for its trace. */
export interface McpServerUse {
  server: string;
  runs: ImportedMcpServer["runs"];
  /** sha256 of the canonical JSON of the tools (name, description, input schema) offered. */
  tools_digest: string;
  /** import: tools.json's listing; live: listed now in the rollout's container; stored: a recorded listing. */
  from: "import" | "live" | "stored";
}
