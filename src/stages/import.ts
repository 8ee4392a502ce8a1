import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserInputError } from "../errors.js";
import { listImportInputs } from "../importers/inputs.js";
import type { SubagentSpec } from "../importers/types.js";
import { err, ok } from "../result.js";
import type { Json } from "../engine/key.js";
import type { McpServerSpec } from "../tools/mcp.js";
import type { FunctionToolDef, ImportedMcpServer, ImportedTools } from "../tools/types.js";
import { TOOLS_VERSION } from "../tools/version.js";
import type { RunContext, Stage } from "./types.js";
import { configName } from "./config-name.js";
import { resolve } from "node:path";
import type { ResolvedSubagent } from "../config/index.js";
import { relPath } from "../importers/files.js";
import { localLibraryRoot, splitSource } from "../libraries/source.js";
import type { StageInputs } from "../engine/types.js";

/**
 * Reads the subagent's source (agent file, skill, plugin item or inline) into spec.json, and the
 * tools it gets into tools.json: canonical names and their OpenAI definitions, which the teacher
 * sees while tracing and the dataset's chat template renders.
 */
export function importStage(): Stage {
  return {
    kind: "import",
    // 3: a stdio MCP server runs in the sandbox unless `run: host`; tools.json says where each runs.
    // 4: a skill's bundled files are kept in the output (skill/), where rollouts install them from.
    version: "4",
    deps: [],
    async inputs({ project, subagent }) {
      const { library, source: inside } = splitSource(project, subagent.source);
      // A git library's pinned commit stands for its files: planning needs no checkout.
      if (library && "git" in library) return ok(importInputs(subagent, { library: library.name, commit: library.commit }, []));
      const root = library && "path" in library ? localLibraryRoot(project, library) : project.root;
      const files = await listImportInputs(root, inside);
      if (!files.ok) {
        // A source path that does not exist is a problem of the config key that names it.
        const kind = Object.keys(subagent.source)[0]!;
        return err(files.error.map((p) => (p.line === 0 ? { ...p, message: `${p.message}: ${p.file}`, file: configName(project), keyPath: ["subagents", subagent.name, "source", kind] } : p)));
      }
      return ok(importInputs(subagent, library ? { library: library.name, commit: null } : null, files.value.map((f) => relPath(project.root, resolve(root, f)))));
    },
    async run(ctx) {
      // Loaded on demand: the importers bring the YAML parser, which a no-op build never needs.
      const { importSource } = await import("../importers/index.js");
      const { library, source } = splitSource(ctx.project, ctx.subagent.source);
      const root = library ? await (await import("../libraries/root.js")).libraryRoot(ctx.project, library) : ok(ctx.project.root);
      if (!root.ok) throw new UserInputError(`cannot import ${ctx.subagent.name}`, [{ file: configName(ctx.project), line: 0, column: 0, keyPath: ["subagents", ctx.subagent.name, "source", "library"], message: root.error }]);
      const imported = await importSource(root.value, source, ctx.subagent.name);
      if (!imported.ok) throw new UserInputError(`cannot import ${ctx.subagent.name}`, imported.error);
      const { spec, warnings } = imported.value;
      for (const w of warnings) ctx.log(`warning: ${w.file}${w.line ? `:${w.line}` : ""}: ${w.message}`);
      await writeFile(join(ctx.outDir, "spec.json"), `${JSON.stringify(spec, null, 2)}\n`);
      await (await import("../traces/skill.js")).keepSkillBundle(root.value, spec, ctx.outDir);
      await writeFile(join(ctx.outDir, "warnings.json"), `${JSON.stringify(warnings, null, 2)}\n`);
      await writeTools(ctx, spec);
    },
  };
}

/** The import's key inputs: the source as written, where a library source's files come from, and the files read. */
function importInputs(subagent: ResolvedSubagent, library: { library: string; commit: string | null } | null, files: string[]): StageInputs {
  const source = subagent.source;
  return {
    params: {
      // Where the spec comes from (an inline spec is all here; files are keyed below).
      source: source as Json,
      // For a source inside a library: its pinned commit, which stands for a git library's files.
      // Absent otherwise, so the keys of sources outside libraries are as they were.
      ...(library ? { library } : {}),
      // spec.json's name, for an inline source that gives none; otherwise the name is not read.
      name: "inline" in source && !source.inline.name?.trim() ? subagent.name : null,
      // Whether tools sabuild cannot run fail the import or are dropped from tools.json.
      unsupported_tools: subagent.unsupported_tools,
      // MCP servers the subagent's tools may come from (secrets stay ${VAR} templates here).
      mcp_servers: subagent.mcp_servers as Json,
    },
    // The agent file, SKILL.md and its bundle, or the plugin's manifest and items.
    files,
    // The tools' descriptions and behaviour shape every trace recorded with them.
    toolchain: { "agent-tools": TOOLS_VERSION },
  };
}

/** Resolves the spec's tools; unsupported ones fail the stage unless the subagent says to drop them. */
async function writeTools(ctx: RunContext, spec: SubagentSpec): Promise<void> {
  const toolset = spec.tools;
  const { resolveTools, toOpenAiTools } = await import("../tools/index.js");
  const { listed, sandboxed } = await listMcpTools(ctx, spec);
  const { tools, mcp, unsupported } = resolveTools(toolset, [...listed.map((t) => t.name), ...sandboxed.flatMap((s) => (s.all ? [`mcp__${s.declared.name}`] : s.tools.map((t) => t.name)))]);
  if (unsupported.length > 0) {
    const list = unsupported.join(", ");
    if (ctx.subagent.unsupported_tools === "error") {
      const kind = Object.keys(ctx.subagent.source)[0]!;
      throw new UserInputError(`${ctx.subagent.name} names tools sabuild cannot run`, [
        {
          file: configName(ctx.project),
          line: 0,
          column: 0,
          keyPath: ["subagents", ctx.subagent.name, "source", kind],
          message: `the subagent's tools include ${unsupported.length === 1 ? "one" : unsupported.length} that sabuild cannot run: ${list}`,
          hint: "set unsupported_tools: ignore on the subagent to drop them",
        },
      ]);
    }
    ctx.log(`warning: dropped tools sabuild cannot run (unsupported_tools: ignore): ${list}`);
  }
  const offered = listed.filter((t) => mcp.includes(t.name));
  const servers: ImportedMcpServer[] = [];
  for (const declared of [...new Set([...offered.map((t) => t.declared), ...sandboxed.map((s) => s.declared)])].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const { name: server, ...declaration } = declared;
    const inSandbox = sandboxed.find((s) => s.declared === declared);
    servers.push(
      inSandbox
        ? { server, runs: "sandbox", tools: inSandbox.tools, ...(inSandbox.all ? { all: true } : {}), declared: declaration }
        : { server, runs: "url" in declared ? "http" : "host", tools: offered.filter((t) => t.declared === declared).map((t) => ({ name: t.name, tool: t.tool })), declared: declaration },
    );
  }
  const out: ImportedTools = {
    version: TOOLS_VERSION,
    resolved: [...tools.map((t) => t.name), ...offered.map((t) => t.name), ...sandboxed.flatMap((s) => s.tools.map((t) => t.name))],
    dropped: unsupported,
    definitions: [...toOpenAiTools(tools), ...offered.map((t) => t.definition)],
    mcp: servers,
  };
  await writeFile(join(ctx.outDir, "tools.json"), `${JSON.stringify(out, null, 2)}\n`);
}

interface ListedMcpTool {
  declared: McpServerSpec;
  name: string;
  tool: string;
  definition: FunctionToolDef;
}

/** A server in the sandbox: import cannot start it (no container yet), so it records what the agent asks of it. */
interface SandboxedMcpServer {
  declared: McpServerSpec;
  /** The tools the agent names (`tool` as written); the rollout checks that the server lists them. */
  tools: { name: string; tool: string }[];
  /** Named alone, or an agent that names no tools: every tool the server lists. */
  all: boolean;
}

/**
 * Starts each declared MCP server outside the sandbox that the subagent's tools may name (all of
 * them when it names no tools), lists its tools and stops it: their schemas go into tools.json,
 * what the teacher and the student are offered. Servers in the sandbox are listed by each
 * rollout in its own container (src/tools/mcp-rollout.ts).
 */
async function listMcpTools(ctx: RunContext, spec: SubagentSpec): Promise<{ listed: ListedMcpTool[]; sandboxed: SandboxedMcpServer[] }> {
  const { expandServer, serversOf } = await import("../tools/mcp-declared.js");
  const servers = serversOf(spec, ctx.subagent.mcp_servers, `${configName(ctx.project)} subagents.${ctx.subagent.name}.mcp_servers`);
  if (!servers.ok) throw new UserInputError(`${ctx.subagent.name} declares MCP servers sabuild cannot read`, servers.error.map((message) => ({ file: configName(ctx.project), line: 0, column: 0, keyPath: ["subagents", ctx.subagent.name], message })));
  const written = spec.tools.mcp.map((n) => n.replace(/\(.*\)$/s, ""));
  const named = new Set(written.map((n) => n.split("__")[1] ?? ""));
  const needed = servers.value.filter((s) => spec.tools.all || named.has(s.name));
  const listed: ListedMcpTool[] = [];
  const sandboxed: SandboxedMcpServer[] = [];
  if (needed.length === 0) return { listed, sandboxed };
  const { connectMcp, mcpToolName, runsOf } = await import("../tools/mcp.js");
  for (const declared of needed) {
    if (runsOf(declared) === "sandbox") {
      const mine = written.filter((n) => n.split("__")[1] === declared.name);
      const all = spec.tools.all || mine.some((n) => n.split("__").length === 2);
      const tools = all ? [] : [...new Set(mine)].sort().map((name) => ({ name, tool: name.split("__").slice(2).join("__") }));
      sandboxed.push({ declared, tools, all });
      continue;
    }
    if (runsOf(declared) === "host") ctx.log(`warning: the MCP server "${declared.name}" runs on the host (run: host), outside the sandbox: its tools act on this machine`);
    const expanded = expandServer(declared, process.env, ctx.project.root);
    if (!expanded.ok) throw new UserInputError(`cannot start the MCP server "${declared.name}"`, [{ file: configName(ctx.project), line: 0, column: 0, keyPath: ["subagents", ctx.subagent.name], message: expanded.error }]);
    const conn = await connectMcp(expanded.value).catch((e: unknown) => {
      throw new UserInputError(`cannot list the tools of the MCP server "${declared.name}"`, [
        { file: configName(ctx.project), line: 0, column: 0, keyPath: ["subagents", ctx.subagent.name], message: (e as Error).message, hint: "check the server's command (or url) and that it starts on this machine" },
      ]);
    });
    try {
      for (const t of conn.listed) {
        const name = mcpToolName(declared.name, t.name);
        listed.push({ declared, name, tool: t.name, definition: { type: "function", function: { name, description: t.description, parameters: t.inputSchema } } });
      }
    } finally {
      await conn.close();
    }
  }
  return { listed, sandboxed };
}
