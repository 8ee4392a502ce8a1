import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { SubagentSpec } from "../importers/types.js";
import type { ChatClient } from "../llm/types.js";
import { environmentImages } from "../envs/images.js";
import { openSandbox, projectLabels } from "../sandbox/index.js";
import type { BuiltEnvironment } from "../artifacts/image.js";
import { DEFAULT_ENV_ID, type Verifier } from "../envs/types.js";
import type { SandboxImage, SandboxSession } from "../sandbox/types.js";
import { runToolCall, toolsNamed, toOpenAiTools, type AgentTool, type FunctionToolDef, type ImportedMcpServer } from "../tools/index.js";
import type { RolloutMcp } from "../tools/mcp-rollout.js";
import type { WebProvider } from "../tools/types.js";
import { rollout } from "./rollout.js";
import { installSkill, instructionsOf } from "./skill.js";
import type { Trace } from "./types.js";

/** What a rollout of a subagent needs from its import and sandbox outputs. */
export interface AgentFiles {
  spec: SubagentSpec;
  /** Import's output directory: a skill's bundled files are kept there (traces/skill.ts). */
  importDir: string;
  /** The tool names import resolved. */
  tools: string[];
  /** The MCP servers import recorded, and the definitions it listed of those outside the sandbox. */
  mcp: ImportedMcpServer[];
  mcpDefinitions: FunctionToolDef[];
  /**
   * The images the sandbox stage recorded, by environment id (built again here if gone), with
   * their items' digests. Traces fill it item by item, as each rollout's environment is built.
   */
  envs: Map<string, BuiltEnvironment>;
}

/**
 * Reads them through the typed readers: a malformed file fails with its name and field. Without
 * `sandbox`, no environment is known yet: the caller adds each as it gets it.
 */
export async function readAgentFiles(importDir: string, sandbox?: { dir: string; digest: string }): Promise<AgentFiles> {
  const { expectArtifact, readEnvironments, readImportedTools, readSpec } = await import("../artifacts/index.js");
  const spec = expectArtifact(await readSpec(importDir), "import");
  const imported = expectArtifact(await readImportedTools(importDir), "import");
  const envs = sandbox ? expectArtifact(await readEnvironments(sandbox.dir, sandbox.digest), "sandbox") : new Map<string, BuiltEnvironment>();
  const mcpNames = new Set(imported.mcp.flatMap((s) => s.tools.map((t) => t.name)));
  return { spec, importDir, tools: imported.resolved, mcp: imported.mcp, mcpDefinitions: imported.definitions.filter((d) => mcpNames.has(d.function.name)), envs };
}

/** The environment requests without one are served in: the subagent's recipe, else the first built. */
export function servingEnv(files: AgentFiles): string {
  return files.envs.has(DEFAULT_ENV_ID) ? DEFAULT_ENV_ID : ([...files.envs.keys()][0] ?? DEFAULT_ENV_ID);
}

export interface AgentRunOptions {
  project: ProjectConfig;
  subagent: ResolvedSubagent;
  log(line: string): void;
  signal?: AbortSignal;
}

/** One rollout: which model plays the subagent, on which task. */
export interface RolloutRequest {
  task: { id: string; prompt: string; tags: string[] };
  /** The task's environment id (src/envs/identity.ts); absent: the serving environment. */
  env?: string;
  /** The task's verifier: run in the rollout's container after the agent's last turn. */
  verify?: Verifier;
  sample: number;
  client: ChatClient;
  model: Trace["model"];
  sampling: { temperature?: number; max_tokens?: number };
  signal?: AbortSignal;
}

export interface AgentRun {
  spec: SubagentSpec;
  /** An environment's image, built (or found) once, on first use: a run whose rollouts are all cached touches no Docker. */
  image(env?: string): Promise<SandboxImage>;
  rollout(request: RolloutRequest): Promise<Trace>;
}

/**
 * The one set-up of a subagent's agent loop, shared by traces, eval and the MCP server: its
 * instructions, tools and contract, each rollout in a fresh container of its sandbox image with
 * the skill's files installed (a container whose set-up fails is removed, never leaked).
 */
export function openAgentRun(files: AgentFiles, o: AgentRunOptions): AgentRun {
  const builtin = toolsNamed(files.tools);
  const builtinDefs = toOpenAiTools(builtin);
  const instructions = instructionsOf(files.spec);
  const images = environmentImages(files.envs, o);
  const ensure = (env = servingEnv(files)): Promise<SandboxImage> => images(env);
  // One web provider for every rollout (a local search index is built once); loaded only when configured.
  let web: Promise<WebProvider | undefined> | undefined;
  const openWebOnce = (): Promise<WebProvider | undefined> =>
    (web ??= o.subagent.web ? import("../web/provider.js").then((m) => m.openWeb(o.project, o.subagent, o.log)) : Promise.resolve(undefined));
  return {
    spec: files.spec,
    image: ensure,
    async rollout(r) {
      const img = await ensure(r.env);
      const signal = r.signal ?? o.signal;
      const verifier = r.verify;
      const webProvider = await openWebOnce();
      // The container opens once: for a server in the sandbox that must list its tools before the
      // first model call, else beside that call (see rollout), or at the first tool call.
      let box: Promise<SandboxSession> | undefined;
      const openBox = (): Promise<SandboxSession> =>
        (box ??= openSandbox(img, { labels: projectLabels(o.project.root), ...(signal ? { signal } : {}), prepare: (b) => installSkill(b, files.importDir, files.spec) }));
      // Each rollout gets its own MCP sessions (a server may keep state), closed when it ends.
      let mcp: RolloutMcp | undefined;
      try {
        mcp = files.mcp.length > 0 ? await openRolloutMcp(files, o, img, openBox) : undefined;
        const tools: AgentTool[] = [...builtin, ...(mcp?.tools ?? [])];
        return await rollout({
          subagent: o.subagent.name,
          task: r.task,
          sample: r.sample,
          instructions,
          contractTag: o.subagent.traces.output_contract.tag,
          maxTurns: o.subagent.traces.max_turns,
          client: r.client,
          model: r.model,
          sampling: r.sampling,
          tools,
          toolDefs: [...builtinDefs, ...(mcp?.definitions ?? [])],
          runTool: (name, args, toolCtx) => runToolCall(tools, name, args, toolCtx),
          // A container whose skill cannot be installed is removed by openSandbox, never leaked.
          openSandbox: openBox,
          image: img,
          ...(mcp?.used.length ? { mcp: mcp.used } : {}),
          ...(r.env ? { env: r.env } : {}),
          ...(verifier ? { verify: async (session: SandboxSession) => (await import("../verify/run.js")).runVerifier(session, verifier, signal ? { signal } : {}) } : {}),
          ...(webProvider ? { web: webProvider } : {}),
          ...(signal ? { signal } : {}),
        });
      } finally {
        await mcp?.close();
        // Opened for a listing and never used by the rollout (a reply from the cache), it is closed here.
        await box?.then(
          (b) => b.close(),
          () => undefined,
        );
      }
    },
  };
}

async function openRolloutMcp(files: AgentFiles, o: AgentRunOptions, image: SandboxImage, sandbox: () => Promise<SandboxSession>): Promise<RolloutMcp> {
  const [{ serversOf }, { openRolloutMcp: open }, { McpRecords }] = await Promise.all([import("../tools/mcp-declared.js"), import("../tools/mcp-rollout.js"), import("../tools/mcp-records.js")]);
  const servers = serversOf(files.spec, o.subagent.mcp_servers, `subagents.${o.subagent.name}.mcp_servers`);
  if (!servers.ok) throw new Error(servers.error.join("; "));
  return open({
    servers: servers.value,
    imported: files.mcp,
    definitions: files.mcpDefinitions,
    mode: o.subagent.mcp_mode,
    records: new McpRecords(o.project.store),
    root: o.project.root,
    image,
    modeKey: `subagents.${o.subagent.name}.mcp_mode`,
    sandbox,
  });
}
