import type { ChatClient } from "../llm/types.js";
import type { SandboxSession } from "../sandbox/types.js";
import { runToolCall, toOpenAiTools } from "../tools/index.js";
import type { AgentTool } from "../tools/types.js";
import { rollout } from "../traces/rollout.js";
import type { Trace } from "../traces/types.js";
import { borrowed } from "./borrowed.js";

/** A subagent the orchestrator may delegate to, played by one arm's model. */
export interface OfferedSubagent {
  name: string;
  /** From its agent file: what the orchestrator reads to choose it. */
  description: string;
  /**
   * Runs the subagent's own loop on `prompt` in the orchestrator's container. `at` names the
   * benchmark item and which of its delegations this is, so the reply cache keeps samples apart
   * by item, whatever order the items run in.
   */
  run(prompt: string, session: SandboxSession, at: DelegationAt, signal?: AbortSignal): Promise<Trace>;
}

/** Where a delegation happens: its item (task and sample) and its place among the item's delegations. */
export interface DelegationAt {
  item: string;
  index: number;
}

export interface SubagentPlay {
  name: string;
  description: string;
  /** Its instructions (agent body or SKILL.md); the output contract is appended. */
  instructions: string;
  tools: AgentTool[];
  contractTag: string;
  maxTurns: number;
  client: ChatClient;
  model: Trace["model"];
  sampling: { temperature?: number; max_tokens?: number };
}

/**
 * The subagent as a delegation runs it: its own instructions, tools, turn cap and contract, as in
 * traces and eval, but in a container it borrows (the orchestrator's) rather than one of its own.
 */
export function offeredSubagent(play: SubagentPlay): OfferedSubagent {
  const toolDefs = toOpenAiTools(play.tools);
  return {
    name: play.name,
    description: play.description,
    run(prompt, session, at, signal) {
      return rollout({
        subagent: play.name,
        task: { id: `${play.name}-delegation`, prompt, tags: ["delegation"] },
        sample: at.index,
        // Each delegation is its own sample: two identical asks, in one item or in two, are not one
        // cached reply, and an item rerun alone asks as it did before.
        cacheSalt: `delegation:${at.item}#${at.index}`,
        instructions: play.instructions,
        contractTag: play.contractTag,
        maxTurns: play.maxTurns,
        client: play.client,
        model: play.model,
        sampling: play.sampling,
        tools: play.tools,
        toolDefs,
        runTool: (name, args, ctx) => runToolCall(play.tools, name, args, ctx),
        openSandbox: async () => borrowed(session),
        image: session.image,
        ...(signal ? { signal } : {}),
      });
    },
  };
}
