import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import * as z from "zod";
import type { Trace } from "../traces/types.js";
import { VERSION } from "../version.js";

/** A built subagent as an MCP tool: a prompt in, the condensed final answer out. */
export interface McpSubagent {
  name: string;
  description: string;
  /** Runs the student's agent loop (with fallback, when configured) on one prompt. */
  run(prompt: string, signal: AbortSignal): Promise<{ answer: string; answeredBy: string; status: string; turns: number; toolCalls: number; trace?: Trace; reason?: string; detail?: string }>;
}

/** Tool names must be short identifiers; a subagent name already is one, prefixed for clarity. */
export function mcpToolName(subagent: string): string {
  return `subagent_${subagent.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/**
 * An MCP server exposing each subagent as a tool, so Claude Code or any MCP client can delegate
 * to the distilled model. The caller connects it to a transport (stdio for `sabuild serve --mcp`).
 */
export function createMcpServer(subagents: McpSubagent[]): McpServer {
  const server = new McpServer({ name: "sabuild", version: VERSION });
  for (const s of subagents) {
    server.registerTool(
      mcpToolName(s.name),
      {
        title: s.name,
        description: `${s.description}\n\nRuns the distilled "${s.name}" subagent in its sandbox and returns its final answer.`,
        inputSchema: { prompt: z.string().min(1).describe("The task for the subagent, as you would delegate it.") },
      },
      async ({ prompt }, extra) => {
        try {
          const r = await s.run(prompt, extra.signal);
          return {
            content: [{ type: "text" as const, text: r.answer }],
            _meta: { answered_by: r.answeredBy, status: r.status, turns: r.turns, tool_calls: r.toolCalls },
          };
        } catch (e) {
          return { isError: true, content: [{ type: "text" as const, text: `${s.name} failed: ${(e as Error).message}` }] };
        }
      },
    );
  }
  return server;
}

export async function serveMcp(subagents: McpSubagent[], transport: Transport): Promise<McpServer> {
  const server = createMcpServer(subagents);
  await server.connect(transport);
  return server;
}
