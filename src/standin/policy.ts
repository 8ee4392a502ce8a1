import type { ChatRequest } from "../llm/types.js";
import type { StandinReply } from "./reply.js";

/**
 * A tiny generic policy, driven by the last message, for tests and smoke runs:
 *
 *   user "/tool NAME {json}"  -> a call of tool NAME with those arguments
 *   user "/think TEXT"        -> reasoning TEXT and the answer "ok"
 *   a tool result             -> "<final_answer>TOOL OUTPUT</final_answer>"
 *   anything else             -> "echo: TEXT"
 */
export function echoPolicy(request: ChatRequest): StandinReply {
  const last = request.messages.at(-1);
  const text = last?.content ?? "";
  if (last?.role === "tool") return { content: `<final_answer>${text}</final_answer>` };
  const tool = /^\/tool\s+(\S+)\s*([\s\S]*)$/.exec(text);
  if (tool) return { tool_calls: [{ name: tool[1]!, arguments: tool[2]?.trim() || "{}" }] };
  const think = /^\/think\s+([\s\S]*)$/.exec(text);
  if (think) return { reasoning: think[1]!, content: "ok" };
  return { content: `echo: ${text}` };
}
