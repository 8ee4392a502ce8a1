import type { AgentTool, ToolResult } from "../tools/types.js";
import type { Delegation } from "./types.js";
import type { OfferedSubagent } from "./subagent.js";

/** The delegation tool's name, as Claude Code calls its own. */
export const DELEGATION_TOOL = "Agent";

/**
 * The orchestrator's delegation tool, shaped like Claude Code's Agent tool (`description`,
 * `prompt`, `subagent_type`). Only the subagent's final answer goes back; its turns stay in the
 * Delegation that `record` receives; `item` names the benchmark item (task and sample). Bad arguments are tool errors the orchestrator can correct.
 */
export function delegationTool(offered: readonly OfferedSubagent[], item: string, record: (d: Delegation) => void): AgentTool {
  const byName = new Map(offered.map((s) => [s.name, s]));
  let index = 0;
  const list = offered.map((s) => `- ${s.name}: ${s.description}`).join("\n");
  return {
    name: DELEGATION_TOOL,
    aliases: ["Task"],
    description: [
      "Launch a subagent to handle a scoped piece of work on its own (it works in the same workspace and sees your edits).",
      "It returns only its final answer, so give it a complete, self-contained prompt.",
      "Available subagent types:",
      list,
    ].join("\n"),
    parameters: {
      type: "object",
      properties: {
        description: { type: "string", description: "A short (3-5 word) description of the task" },
        prompt: { type: "string", description: "The task for the subagent to perform" },
        subagent_type: { type: "string", enum: offered.map((s) => s.name), description: "Which subagent to use" },
      },
      required: ["description", "prompt", "subagent_type"],
      additionalProperties: false,
    },
    async run(args, ctx): Promise<ToolResult> {
      const a = (args ?? {}) as Record<string, unknown>;
      const prompt = typeof a.prompt === "string" ? a.prompt.trim() : "";
      const type = typeof a.subagent_type === "string" ? a.subagent_type : "";
      if (!prompt) return { content: "The Agent tool needs a non-empty `prompt`.", isError: true };
      const sub = byName.get(type);
      if (!sub) return { content: `No subagent "${type}". Available: ${[...byName.keys()].join(", ")}.`, isError: true };
      const trace = await sub.run(prompt, ctx.sandbox, { item, index: index++ }, ctx.signal);
      const answer = trace.final_answer ?? `The ${sub.name} subagent ended without an answer (${trace.status}${trace.error ? `: ${trace.error}` : ""}).`;
      record({ subagent: sub.name, description: typeof a.description === "string" ? a.description : "", prompt, answer, trace });
      return { content: answer, isError: trace.final_answer === undefined };
    },
  };
}
