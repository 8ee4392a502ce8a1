import { KeyedRecords } from "../store/keyed-blobs.js";
import type { McpToolInfo } from "./mcp.js";
import type { ToolResult } from "./types.js";

/** A server's tool listing, as a server in the sandbox gave it (import lists the others into tools.json). */
export interface McpListRecord {
  version: 1;
  kind: "mcp_list";
  server: string;
  tools: McpToolInfo[];
}

/** One tool call's result as the model saw it (the server's isError kept). */
export interface McpCallRecord {
  version: 1;
  kind: "mcp_call";
  server: string;
  tool: string;
  result: ToolResult;
}

export type McpRecord = McpListRecord | McpCallRecord;

/** MCP results in the content store, under mcp/ (see KeyedBlobs), beside the web's under web/. */
export class McpRecords extends KeyedRecords<McpRecord> {
  constructor(storeRoot: string) {
    super(storeRoot, "mcp", 1);
  }
}
