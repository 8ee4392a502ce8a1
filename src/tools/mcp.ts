import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { SandboxError, type SandboxSession } from "../sandbox/types.js";
import { VERSION } from "../version.js";
import type { SandboxStdioTransport } from "./mcp-sandbox-transport.js";
import { failure } from "./define.js";
import type { AgentTool, JsonSchema, ToolResult } from "./types.js";

/**
 * MCP servers as tool providers: each tool a server lists becomes an AgentTool named as Claude
 * Code names it, `mcp__<server>__<tool>`, with the server's own input schema. The official SDK's
 * client speaks the protocol (initialize, tools/list, tools/call) over stdio or streamable HTTP.
 */

/**
 * One server as agent files (`mcpServers`), plugins (`.mcp.json`) and subagents.yaml declare it.
 * A stdio server runs in the rollout's sandbox container unless `run` is "host".
 */
export type McpServerSpec =
  | { name: string; command: string; args?: string[]; env?: Record<string, string>; cwd?: string; run?: "sandbox" | "host" }
  | { name: string; url: string; headers?: Record<string, string> };

/** Where a server runs: a stdio process in the sandbox or on the host, or an HTTP endpoint reached from the host. */
export type McpRuns = "sandbox" | "host" | "http";

export function runsOf(spec: McpServerSpec): McpRuns {
  return "url" in spec ? "http" : spec.run === "host" ? "host" : "sandbox";
}

/** A tool as the server described it: what tools.json records. */
export interface McpToolInfo {
  name: string;
  description: string;
  inputSchema: JsonSchema;
}

export interface McpConnection {
  server: string;
  tools: AgentTool[];
  listed: McpToolInfo[];
  /** One call by the server's own tool name; throws when the server fails (see mcpFailure). */
  call(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolResult>;
  /** Ends the session; a stdio server's process is stopped. */
  close(): Promise<void>;
}

/** The name a model calls: OpenAI function names allow letters, digits, `_` and `-` only. */
export function mcpToolName(server: string, tool: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_");
  return `mcp__${clean(server)}__${clean(tool)}`;
}

/**
 * Starts (or reaches) the server and lists its tools. A stdio server that runs in the sandbox
 * is started in `options.sandbox`, which must then be given.
 */
export async function connectMcp(spec: McpServerSpec, options: { timeoutMs?: number; sandbox?: SandboxSession } = {}): Promise<McpConnection> {
  let transport: Transport;
  // The server's stderr is kept (its last 2 KB) to explain a server that fails to start.
  let stderr = "";
  let sandboxed: SandboxStdioTransport | undefined;
  if ("url" in spec) transport = new StreamableHTTPClientTransport(new URL(spec.url), spec.headers ? { requestInit: { headers: spec.headers } } : undefined);
  else if (spec.run === "host") {
    const stdio = new StdioClientTransport({ command: spec.command, args: spec.args ?? [], ...(spec.env ? { env: spec.env } : {}), ...(spec.cwd ? { cwd: spec.cwd } : {}), stderr: "pipe" });
    stdio.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2048)));
    transport = stdio;
  } else {
    if (!options.sandbox) throw new Error(`the MCP server "${spec.name}" runs in the sandbox, and no sandbox session was given`);
    const { SandboxStdioTransport } = await import("./mcp-sandbox-transport.js");
    transport = sandboxed = new SandboxStdioTransport(options.sandbox, [spec.command, ...(spec.args ?? [])], { ...(spec.env ? { env: spec.env } : {}), ...(spec.cwd ? { cwd: spec.cwd } : {}) });
  }
  const client = new Client({ name: "sabuild", version: VERSION });
  const timeout = options.timeoutMs ?? 30_000;
  try {
    await client.connect(transport, { timeout });
    const listed: McpToolInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout });
      for (const t of page.tools) listed.push({ name: t.name, description: t.description ?? "", inputSchema: t.inputSchema as JsonSchema });
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const call = (tool: string, args: Record<string, unknown>, signal?: AbortSignal) => callMcp(client, tool, args, timeout, signal);
    return {
      server: spec.name,
      listed,
      tools: listed.map((t) => mcpTool({ call }, spec.name, t)),
      call,
      close: () => client.close(),
    };
  } catch (e) {
    await client.close().catch(() => undefined);
    // A container that is gone is the rollout's failure (retried on the next build), not the server's.
    if (e instanceof SandboxError) throw e;
    if (sandboxed) stderr = sandboxed.stderrTail;
    const said = stderr.trim() ? `\n${stderr.trim()}` : "";
    throw new Error(`cannot start the MCP server "${spec.name}": ${(e as Error).message}${said}`);
  }
}

/** A call's result as the model sees it; throws when the server fails (dies, times out, errs on the protocol). */
async function callMcp(client: Client, tool: string, args: Record<string, unknown>, timeout: number, signal?: AbortSignal): Promise<ToolResult> {
  const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout, ...(signal ? { signal } : {}) });
  const content = Array.isArray(result.content) ? result.content.map(describeContent).join("\n") : JSON.stringify(result.structuredContent ?? result);
  return { content: content || "(no output)", isError: result.isError === true };
}

/** The tool error a model sees when the server failed on a call. */
export function mcpFailure(server: string, tool: string, e: unknown): ToolResult {
  return failure(`The MCP server "${server}" failed on ${tool}: ${(e as Error).message}`);
}

function mcpTool(conn: Pick<McpConnection, "call">, server: string, info: McpToolInfo): AgentTool {
  return {
    name: mcpToolName(server, info.name),
    aliases: [],
    description: info.description,
    parameters: info.inputSchema,
    async run(args, ctx): Promise<ToolResult> {
      try {
        return await conn.call(info.name, args as Record<string, unknown>, ctx.signal);
      } catch (e) {
        return mcpFailure(server, info.name, e);
      }
    },
  };
}

/** Text items as they are; other items (images, audio, resources) named, since a text model cannot read them. */
function describeContent(item: { type: string; [key: string]: unknown }): string {
  if (item.type === "text" && typeof item["text"] === "string") return item["text"];
  if (item.type === "resource_link") return `[resource ${String(item["uri"])}]`;
  if (item.type === "resource") {
    const resource = item["resource"] as { uri?: string; text?: string } | undefined;
    return typeof resource?.text === "string" ? resource.text : `[resource ${resource?.uri ?? ""}]`;
  }
  return `[${item.type} ${typeof item["mimeType"] === "string" ? item["mimeType"] : ""} content not shown]`.replace(" ]", "]");
}
