import type { Verification } from "../envs/types.js";
import type { ChatClient } from "../llm/types.js";
import type { SandboxImage, SandboxSession } from "../sandbox/types.js";
import { runToolCall, toOpenAiTools } from "../tools/index.js";
import type { AgentTool } from "../tools/types.js";
import { rollout } from "../traces/rollout.js";
import type { Trace } from "../traces/types.js";
import { delegationTool } from "./delegate.js";
import type { OfferedSubagent } from "./subagent.js";
import type { Arm, Delegation, OrchestratorTrace } from "./types.js";

/** What the main agent is told when a benchmark gives it no instructions of its own. */
export const ORCHESTRATOR_INSTRUCTIONS = [
  "You are the main coding agent. Solve the user's task in the workspace with your tools.",
  "When subagents are offered (the Agent tool), delegate scoped, noisy work to them (running tests, searching code) and act on their answers.",
  "When the task is done, reply with a short summary and no tool call.",
].join("\n");

export interface OrchestrateOptions {
  arm: Arm;
  task: { id: string; prompt: string; tags: string[] };
  sample: number;
  instructions?: string;
  /** The orchestrator's own tools, run in the task's container. */
  tools: AgentTool[];
  /** Who it may delegate to; none in the `none` arm. */
  offered: readonly OfferedSubagent[];
  maxTurns: number;
  client: ChatClient;
  model: Trace["model"];
  sampling: { temperature?: number; max_tokens?: number };
  image: SandboxImage;
  env?: string;
  /** A fresh container of the task's environment; the orchestrator's rollout owns and closes it. */
  openSandbox(): Promise<SandboxSession>;
  /** The task's verifier, run in that container when the orchestrator ends. */
  verify?(session: SandboxSession): Promise<Verification>;
  /** Takes the container's removal instead of waiting for it (see RolloutOptions.onClosing). */
  onClosing?(closing: Promise<void>): void;
  signal?: AbortSignal;
}

/**
 * The main agent on one benchmark task: the same loop as a subagent's rollout (no output
 * contract: the verifier decides), with a delegation tool whose subagents work in its container.
 */
export async function orchestrate(o: OrchestrateOptions): Promise<OrchestratorTrace> {
  const delegations: Delegation[] = [];
  const tools = o.arm !== "none" && o.offered.length ? [...o.tools, delegationTool(o.offered, `${o.task.id}.s${o.sample}`, (d) => delegations.push(d))] : [...o.tools];
  const trace = await rollout({
    subagent: "orchestrator",
    task: o.task,
    sample: o.sample,
    instructions: o.instructions ?? ORCHESTRATOR_INSTRUCTIONS,
    maxTurns: o.maxTurns,
    client: o.client,
    model: o.model,
    sampling: o.sampling,
    tools,
    toolDefs: toOpenAiTools(tools),
    runTool: (name, args, ctx) => runToolCall(tools, name, args, ctx),
    openSandbox: o.openSandbox,
    image: o.image,
    ...(o.env ? { env: o.env } : {}),
    ...(o.verify ? { verify: o.verify } : {}),
    ...(o.onClosing ? { onClosing: o.onClosing } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { ...trace, arm: o.arm, delegations };
}
