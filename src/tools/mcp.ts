import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { VERSION } from "../version.js";
import { failure } from "./define.js";
import type { AgentTool, JsonSchema, ToolResult } from "./types.js";

/**
 * MCP servers as tool providers: each tool a server lists becomes an AgentTool named as Claude
 * Code names it, `mcp__<server>__<tool>`, with the server's own input schema. The official SDK's
 * client speaks the protocol (initialize, tools/list, tools/call) over stdio or streamable HTTP.
 */

/** One server as agent files (`mcpServers`), plugins (`.mcp.json`) and subagents.yaml declare it. */
export type McpServerSpec =
  | { name: string; command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { name: string; url: string; headers?: Record<string, string> };

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
  /** Ends the session; a stdio server's process is stopped. */
  close(): Promise<void>;
}

/** The name a model calls: OpenAI function names allow letters, digits, `_` and `-` only. */
export function mcpToolName(server: string, tool: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_");
  return `mcp__${clean(server)}__${clean(tool)}`;
}

export async function connectMcp(spec: McpServerSpec, options: { timeoutMs?: number } = {}): Promise<McpConnection> {
  const transport: Transport =
    "url" in spec
      ? new StreamableHTTPClientTransport(new URL(spec.url), spec.headers ? { requestInit: { headers: spec.headers } } : undefined)
      : new StdioClientTransport({ command: spec.command, args: spec.args ?? [], ...(spec.env ? { env: spec.env } : {}), ...(spec.cwd ? { cwd: spec.cwd } : {}), stderr: "pipe" });
  // The server's stderr is kept (its last 2 KB) to explain a server that fails to start.
  let stderr = "";
  if (transport instanceof StdioClientTransport) transport.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2048)));
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
    return {
      server: spec.name,
      listed,
      tools: listed.map((t) => mcpTool(client, spec.name, t, timeout)),
      close: () => client.close(),
    };
  } catch (e) {
    await client.close().catch(() => undefined);
    const said = stderr.trim() ? `\n${stderr.trim()}` : "";
    throw new Error(`cannot start the MCP server "${spec.name}": ${(e as Error).message}${said}`);
  }
}

function mcpTool(client: Client, server: string, info: McpToolInfo, timeout: number): AgentTool {
  return {
    name: mcpToolName(server, info.name),
    aliases: [],
    description: info.description,
    parameters: info.inputSchema,
    async run(args, ctx): Promise<ToolResult> {
      try {
        const result = await client.callTool({ name: info.name, arguments: args as Record<string, unknown> }, undefined, {
          timeout,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        const content = Array.isArray(result.content) ? result.content.map(describeContent).join("\n") : JSON.stringify(result.structuredContent ?? result);
        return { content: content || "(no output)", isError: result.isError === true };
      } catch (e) {
        return failure(`The MCP server "${server}" failed on ${info.name}: ${(e as Error).message}`);
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
