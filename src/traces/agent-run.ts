import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { SubagentSpec } from "../importers/types.js";
import type { ChatClient } from "../llm/types.js";
import { ensureImage, openSandbox, projectLabels } from "../sandbox/index.js";
import type { SandboxImage } from "../sandbox/types.js";
import { runToolCall, toolsNamed, toOpenAiTools } from "../tools/index.js";
import { rollout } from "./rollout.js";
import { installSkill, instructionsOf } from "./skill.js";
import type { Trace } from "./types.js";

/** What a rollout of a subagent needs from its import and sandbox outputs. */
export interface AgentFiles {
  spec: SubagentSpec;
  /** The tool names import resolved. */
  tools: string[];
  /** The image the sandbox stage recorded (built again here if it is gone). */
  image: SandboxImage;
}

/** Reads them through the typed readers: a malformed file fails with its name and field. */
export async function readAgentFiles(importDir: string, sandboxDir: string): Promise<AgentFiles> {
  const { expectArtifact, readImportedTools, readSandboxImage, readSpec } = await import("../artifacts/index.js");
  const spec = expectArtifact(await readSpec(importDir), "import");
  const tools = expectArtifact(await readImportedTools(importDir), "import").resolved;
  const image = expectArtifact(await readSandboxImage(sandboxDir), "sandbox");
  return { spec, tools, image };
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
  sample: number;
  client: ChatClient;
  model: Trace["model"];
  sampling: { temperature?: number; max_tokens?: number };
  signal?: AbortSignal;
}

export interface AgentRun {
  spec: SubagentSpec;
  /** The sandbox image, built (or found) once, on first use: a run whose rollouts are all cached touches no Docker. */
  image(): Promise<SandboxImage>;
  rollout(request: RolloutRequest): Promise<Trace>;
}

/**
 * The one set-up of a subagent's agent loop, shared by traces, eval and the MCP server: its
 * instructions, tools and contract, each rollout in a fresh container of its sandbox image with
 * the skill's files installed (a container whose set-up fails is removed, never leaked).
 */
export function openAgentRun(files: AgentFiles, o: AgentRunOptions): AgentRun {
  const tools = toolsNamed(files.tools);
  const toolDefs = toOpenAiTools(tools);
  const instructions = instructionsOf(files.spec);
  let image: Promise<SandboxImage> | undefined;
  const ensure = (): Promise<SandboxImage> => (image ??= ensureImage(files.image, { projectRoot: o.project.root, log: o.log, ...(o.signal ? { signal: o.signal } : {}) }));
  return {
    spec: files.spec,
    image: ensure,
    async rollout(r) {
      const img = await ensure();
      const signal = r.signal ?? o.signal;
      return rollout({
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
        toolDefs,
        runTool: (name, args, toolCtx) => runToolCall(tools, name, args, toolCtx),
        // A container whose skill cannot be installed is removed by openSandbox, never leaked.
        openSandbox: () => openSandbox(img, { labels: projectLabels(o.project.root), ...(signal ? { signal } : {}), prepare: (box) => installSkill(box, o.project, files.spec) }),
        image: img,
        ...(signal ? { signal } : {}),
      });
    },
  };
}
