import { resolve } from "node:path";
import { resolveTemplate } from "../config/template.js";
import type { SubagentSpec } from "../importers/types.js";
import { err, ok, type Result } from "../result.js";
import type { McpConnection, McpServerSpec } from "./mcp.js";
import type { AgentTool, ImportedMcpServer } from "./types.js";

/**
 * MCP servers as agent files (`mcpServers` in the frontmatter), plugins (`.mcp.json`) and
 * subagents.yaml (`mcp_servers:`) declare them: a map from server name to a stdio command
 * (`command`, `args`, `env`, `cwd`) or a streamable HTTP endpoint (`url`, `headers`, with `type`
 * "http" or "streamable-http" where given). Values may hold `${VAR}` references, substituted only
 * when a server is started, so secrets stay out of keys and artifacts.
 */

export interface Declarations {
  /** Where the map was written, for messages (e.g. "agents/explorer.md mcpServers"). */
  from: string;
  value: unknown;
}

/** Every server declared, later declarations replacing earlier ones of the same name. */
export function declaredServers(sources: readonly Declarations[]): Result<McpServerSpec[], string[]> {
  const servers = new Map<string, McpServerSpec>();
  const problems: string[] = [];
  for (const { from, value } of sources) {
    if (value === undefined || value === null) continue;
    // A list of names refers to servers declared elsewhere (subagents.yaml, the plugin); it declares none.
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      problems.push(`${from}: expected a map from server name to {command, args, env} or {url, headers}`);
      continue;
    }
    for (const [name, entry] of Object.entries(value)) {
      const spec = serverSpec(name, entry);
      if (typeof spec === "string") problems.push(`${from}: server "${name}": ${spec}`);
      else servers.set(name, spec);
    }
  }
  return problems.length > 0 ? err(problems) : ok([...servers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
}

function serverSpec(name: string, entry: unknown): McpServerSpec | string {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return "expected {command, args, env} or {url, headers}";
  const e = entry as Record<string, unknown>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
  const stringMap = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v) && Object.values(v).every((s) => typeof s === "string");
  if (typeof e["url"] === "string") {
    if (e["type"] !== undefined && e["type"] !== "http" && e["type"] !== "streamable-http") return `type ${JSON.stringify(e["type"])} is not supported: sabuild speaks stdio and streamable HTTP`;
    if (e["headers"] !== undefined && !stringMap(e["headers"])) return "headers must map names to strings";
    return { name, url: e["url"], ...(e["headers"] ? { headers: e["headers"] as Record<string, string> } : {}) };
  }
  if (typeof e["command"] !== "string" || e["command"] === "") return "needs a command (a stdio server) or a url (an HTTP server)";
  if (e["args"] !== undefined && !strings(e["args"])) return "args must be a list of strings";
  if (e["env"] !== undefined && !stringMap(e["env"])) return "env must map names to strings";
  if (e["cwd"] !== undefined && typeof e["cwd"] !== "string") return "cwd must be a string";
  return {
    name,
    command: e["command"],
    ...(e["args"] ? { args: e["args"] as string[] } : {}),
    ...(e["env"] ? { env: e["env"] as Record<string, string> } : {}),
    ...(typeof e["cwd"] === "string" ? { cwd: e["cwd"] } : {}),
  };
}

/**
 * The spec with its `${VAR}` references substituted, just before the server is started; a stdio
 * server runs in the project root (or its `cwd`, relative to that root).
 */
export function expandServer(spec: McpServerSpec, env: Record<string, string | undefined>, root: string): Result<McpServerSpec, string> {
  const missing: string[] = [];
  const sub = (text: string): string => {
    const r = resolveTemplate(text, env);
    if (r.ok) return r.value;
    missing.push(r.error);
    return text;
  };
  const subMap = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, sub(v)]));
  const out: McpServerSpec =
    "url" in spec
      ? { name: spec.name, url: sub(spec.url), ...(spec.headers ? { headers: subMap(spec.headers) } : {}) }
      : {
          name: spec.name,
          command: sub(spec.command),
          ...(spec.args ? { args: spec.args.map(sub) } : {}),
          // A stdio server gets the PATH and HOME it needs to start, and what its declaration adds.
          env: { ...pick(env, ["PATH", "HOME", "LANG", "TMPDIR"]), ...(spec.env ? subMap(spec.env) : {}) },
          cwd: spec.cwd ? resolve(root, sub(spec.cwd)) : root,
        };
  return missing.length > 0 ? err(`MCP server "${spec.name}": ${missing.join("; ")}`) : ok(out);
}

function pick(env: Record<string, string | undefined>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (env[n] !== undefined) out[n] = env[n];
  return out;
}

/** The servers a subagent may use: its agent file's or plugin's, then subagents.yaml's. */
export function serversOf(spec: SubagentSpec, configured: unknown, configWhere: string): Result<McpServerSpec[], string[]> {
  return declaredServers([
    { from: `${spec.provenance.path || "the inline source"} mcpServers`, value: spec.mcpServers },
    { from: configWhere, value: configured },
  ]);
}

/** Connects the servers, each offering the tools tools.json recorded for it; all are closed if one fails. */
export async function openMcpTools(
  servers: readonly McpServerSpec[],
  recorded: readonly ImportedMcpServer[],
  root: string,
): Promise<{ tools: AgentTool[]; close(): Promise<void> }> {
  const { connectMcp } = await import("./mcp.js");
  const open: McpConnection[] = [];
  const close = async () => void (await Promise.allSettled(open.map((c) => c.close())));
  try {
    const tools: AgentTool[] = [];
    for (const entry of recorded) {
      const declared = servers.find((s) => s.name === entry.server);
      if (!declared) throw new Error(`the MCP server "${entry.server}" that import listed is no longer declared`);
      const spec = expandServer(declared, process.env, root);
      if (!spec.ok) throw new Error(spec.error);
      const conn = await connectMcp(spec.value);
      open.push(conn);
      for (const t of entry.tools) {
        const tool = conn.tools.find((c) => c.name === t.name);
        if (!tool) throw new Error(`the MCP server "${entry.server}" no longer offers ${t.tool}`);
        tools.push(tool);
      }
    }
    return { tools, close };
  } catch (e) {
    await close();
    throw e;
  }
}
