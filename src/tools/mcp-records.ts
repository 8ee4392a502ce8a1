import { canonicalJson } from "../engine/key.js";
import { KeyedBlobs } from "../store/keyed-blobs.js";
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
export class McpRecords {
  private readonly blobsByKey: KeyedBlobs;

  constructor(storeRoot: string) {
    this.blobsByKey = new KeyedBlobs(storeRoot, "mcp");
  }

  /** The record and its blob digest, or undefined (missing, unreadable, or its blob was collected). */
  async get(key: string): Promise<{ record: McpRecord; digest: string } | undefined> {
    const found = await this.blobsByKey.get(key);
    if (!found) return undefined;
    try {
      const record = JSON.parse(found.bytes.toString("utf8")) as McpRecord;
      return record.version === 1 ? { record, digest: found.digest } : undefined;
    } catch {
      return undefined;
    }
  }

  put(key: string, record: McpRecord): Promise<string> {
    return this.blobsByKey.put(key, canonicalJson(record));
  }

  /** Blob digests the index refers to: gc keeps them, since replay depends on them. */
  blobs(): Promise<string[]> {
    return this.blobsByKey.blobs();
  }
}
