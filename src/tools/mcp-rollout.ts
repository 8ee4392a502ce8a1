import { canonicalJson, sha256, type Json } from "../engine/key.js";
import { SandboxError, type SandboxImage, type SandboxSession } from "../sandbox/types.js";
import { recordKey } from "../web/records.js";
import { ReplayMissError, throughStore, type WebMode } from "../web/replay.js";
import { expandServer } from "./mcp-declared.js";
import type { McpCallRecord, McpListRecord, McpRecord, McpRecords } from "./mcp-records.js";
import { connectMcp, mcpFailure, mcpToolName, type McpConnection, type McpServerSpec, type McpToolInfo } from "./mcp.js";
import type { AgentTool, FunctionToolDef, ImportedMcpServer, McpServerUse, ToolResult } from "./types.js";

/**
 * The MCP tools of one rollout. Each server gets a session of its own (a server may keep state),
 * started on first need: a server in the sandbox in the rollout's container, a host one on the
 * host. Listings and call results go through the store under the subagent's `mcp_mode`, as web
 * results do (src/web/replay.ts): record (stored if there, else live and stored), replay (stored
 * only: the server is never started) or live.
 *
 * A call's record key is the server's identity, the tools it offered, the tool, the arguments
 * (canonical JSON) and the key of the session's previous call. That chain is what makes a
 * stateful server replayable: `count` after a `restock` is another key than `count` before it.
 * When a call misses the store after earlier ones were answered from it, the live server is first
 * given those earlier calls (their results dropped), so it is in the state the chain assumes.
 */

export interface RolloutMcpOptions {
  /** Every server the subagent declares (agent file, plugin, subagents.yaml), templates unresolved. */
  servers: readonly McpServerSpec[];
  /** tools.json's servers, and its definitions (where host and HTTP servers' schemas are). */
  imported: readonly ImportedMcpServer[];
  definitions: readonly FunctionToolDef[];
  mode: WebMode;
  records: McpRecords;
  /** The project root: a host server's cwd is relative to it. */
  root: string;
  /** The rollout's image: what a server in the sandbox was installed into. */
  image: SandboxImage;
  /** The setting a replay miss names, e.g. subagents.researcher.mcp_mode. */
  modeKey: string;
  /** The rollout's container, opened on first use (the rollout closes it). */
  sandbox(): Promise<SandboxSession>;
  env?: Record<string, string | undefined>;
}

export interface RolloutMcp {
  tools: AgentTool[];
  /** As the model is shown them, in tools.json's order of servers. */
  definitions: FunctionToolDef[];
  /** Per server, which tools the rollout was offered: for the trace. */
  used: McpServerUse[];
  /** Ends every server session the rollout started. */
  close(): Promise<void>;
}

export async function openRolloutMcp(o: RolloutMcpOptions): Promise<RolloutMcp> {
  const sessions: ServerSession[] = [];
  const close = async () => void (await Promise.allSettled(sessions.map((s) => s.close())));
  try {
    const tools: AgentTool[] = [];
    const used: McpServerUse[] = [];
    for (const entry of o.imported) {
      const declared = o.servers.find((s) => s.name === entry.server);
      if (!declared) throw new Error(`the MCP server "${entry.server}" that import listed is no longer declared`);
      const session = new ServerSession(declared, entry, o);
      sessions.push(session);
      const { listing, from } = await session.listing();
      const offered = offeredTools(entry, listing);
      used.push({ server: entry.server, runs: entry.runs, tools_digest: sha256(canonicalJson(offered as unknown as Json)), from });
      tools.push(...offered.map((t) => session.tool(t, sha256(canonicalJson(listing as unknown as Json)))));
    }
    return { tools, definitions: tools.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } })), used, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The tools of the listing the agent gets: those import recorded, checked against what the server lists now. */
function offeredTools(entry: ImportedMcpServer, listing: McpToolInfo[]): McpToolInfo[] {
  if (entry.all) return listing;
  const out: McpToolInfo[] = [];
  for (const wanted of entry.tools) {
    const found = listing.find((t) => mcpToolName(entry.server, t.name) === wanted.name);
    if (!found) {
      const where = entry.runs === "sandbox" ? " in the sandbox" : "";
      throw new Error(`the MCP server "${entry.server}"${where} offers no tool ${wanted.tool} (it lists: ${listing.map((t) => t.name).join(", ") || "none"})`);
    }
    out.push(found);
  }
  return out;
}

class ServerSession {
  private connecting: Promise<McpConnection> | undefined;
  /** The calls made so far (stored or live), and how many of them the live server has seen. */
  private readonly history: { tool: string; args: Record<string, unknown> }[] = [];
  private seen = 0;
  private lastKey: string | null = null;
  /** Stands for the server in record keys: its declaration as written and, in the sandbox, what its image was built from. */
  private readonly identity: string;

  constructor(
    private readonly declared: McpServerSpec,
    private readonly entry: ImportedMcpServer,
    private readonly o: RolloutMcpOptions,
  ) {
    const { name: _name, ...declaration } = declared;
    const image = entry.runs === "sandbox" ? { context: o.image.contextDigest, base: o.image.baseImage } : null;
    this.identity = sha256(canonicalJson({ runs: entry.runs, declaration: declaration as Json, image }));
  }

  /** The server's tools: tools.json's for host and HTTP servers (import listed them), else listed in the sandbox through the store. */
  async listing(): Promise<{ listing: McpToolInfo[]; from: McpServerUse["from"] }> {
    if (this.entry.runs !== "sandbox") return { listing: this.fromImport(), from: "import" };
    let from: McpServerUse["from"] = "live";
    const record = await throughStore<McpListRecord, McpRecord>({
      mode: this.o.mode,
      records: this.o.records,
      key: { kind: "mcp_list", server: this.identity },
      what: `the tool listing of the MCP server "${this.entry.server}"`,
      configKey: this.o.modeKey,
      modeKey: this.o.modeKey,
      kind: "mcp",
      live: async () => ({ version: 1, kind: "mcp_list", server: this.entry.server, tools: (await this.connection()).listed }),
      recorded: (r) => (from = r.from),
    });
    return { listing: record.tools, from };
  }

  private fromImport(): McpToolInfo[] {
    return this.entry.tools.map((t) => {
      const def = this.o.definitions.find((d) => d.function.name === t.name);
      if (!def) throw new Error(`tools.json lists ${t.name} without its definition`);
      return { name: t.tool, description: def.function.description, inputSchema: def.function.parameters };
    });
  }

  /** The live session, started on first need; it is first given the calls answered from the store. */
  private async connection(): Promise<McpConnection> {
    this.connecting ??= (async () => {
      const spec = expandServer(this.declared, this.o.env ?? process.env, this.o.root, this.o.image.workdir);
      if (!spec.ok) throw new Error(spec.error);
      return connectMcp(spec.value, this.entry.runs === "sandbox" ? { sandbox: await this.o.sandbox() } : {});
    })();
    const conn = await this.connecting;
    while (this.seen < this.history.length) {
      const h = this.history[this.seen++]!;
      await conn.call(h.tool, h.args).catch(() => undefined);
    }
    return conn;
  }

  tool(info: McpToolInfo, listingDigest: string): AgentTool {
    const server = this.entry.server;
    return {
      name: mcpToolName(server, info.name),
      aliases: [],
      description: info.description,
      parameters: info.inputSchema,
      run: async (args, ctx): Promise<ToolResult> => {
        const given = args as Record<string, unknown>;
        const key = { kind: "mcp_call", server: this.identity, tools: listingDigest, tool: info.name, args: given as Json, after: this.lastKey };
        try {
          const record = await throughStore<McpCallRecord, McpRecord>({
            mode: this.o.mode,
            records: this.o.records,
            key,
            what: `the call ${mcpToolName(server, info.name)} ${canonicalJson(given as Json)} (and the calls before it in this rollout)`,
            configKey: this.o.modeKey,
            modeKey: this.o.modeKey,
            kind: "mcp",
            live: async () => {
              const conn = await this.connection();
              this.seen++;
              return { version: 1, kind: "mcp_call", server, tool: info.name, result: await conn.call(info.name, given, ctx.signal) };
            },
            ...(ctx.recorded ? { recorded: ctx.recorded } : {}),
          });
          return record.result;
        } catch (e) {
          // A replay that cannot go on, or a container that is gone, is the rollout's failure, not a
          // tool error the model sees.
          if (e instanceof ReplayMissError || e instanceof SandboxError) throw e;
          return mcpFailure(server, info.name, e);
        } finally {
          this.history.push({ tool: info.name, args: given });
          this.lastKey = recordKey(key);
        }
      },
    };
  }

  async close(): Promise<void> {
    const conn = await this.connecting?.catch(() => undefined);
    await conn?.close();
  }
}
