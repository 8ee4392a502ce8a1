import { posix, resolve } from "node:path";
import { resolveTemplate } from "../config/template.js";
import type { SubagentSpec } from "../importers/types.js";
import { err, ok, type Result } from "../result.js";
import type { McpServerSpec } from "./mcp.js";

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
  if (e["run"] !== undefined && e["run"] !== "sandbox" && e["run"] !== "host") return `run must be "sandbox" (the default: in the rollout's container) or "host"`;
  return {
    name,
    command: e["command"],
    ...(e["run"] === "host" ? { run: "host" as const } : {}),
    ...(e["args"] ? { args: e["args"] as string[] } : {}),
    ...(e["env"] ? { env: e["env"] as Record<string, string> } : {}),
    ...(typeof e["cwd"] === "string" ? { cwd: e["cwd"] } : {}),
  };
}

/**
 * The spec with its `${VAR}` references substituted, just before the server is started. A stdio
 * server on the host runs in the project root (or its `cwd`, relative to that root) with the
 * host's PATH and HOME; one in the sandbox runs in the image's workdir (or its `cwd`, relative to
 * that) with the container's own environment and what its declaration adds.
 */
export function expandServer(spec: McpServerSpec, env: Record<string, string | undefined>, root: string, sandboxWorkdir = "/"): Result<McpServerSpec, string> {
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
      : spec.run === "host"
        ? {
            name: spec.name,
            command: sub(spec.command),
            ...(spec.args ? { args: spec.args.map(sub) } : {}),
            run: "host",
            // A stdio server gets the PATH and HOME it needs to start, and what its declaration adds.
            env: { ...pick(env, ["PATH", "HOME", "LANG", "TMPDIR"]), ...(spec.env ? subMap(spec.env) : {}) },
            cwd: spec.cwd ? resolve(root, sub(spec.cwd)) : root,
          }
        : {
            name: spec.name,
            command: sub(spec.command),
            ...(spec.args ? { args: spec.args.map(sub) } : {}),
            ...(spec.env ? { env: subMap(spec.env) } : {}),
            cwd: posix.resolve(sandboxWorkdir, spec.cwd ? sub(spec.cwd) : "."),
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
