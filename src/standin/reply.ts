import { estimatePromptTokens, estimateTextTokens } from "../llm/tokens.js";
import type { ChatRequest } from "../llm/types.js";

/** What a policy decides for one request. */
export interface StandinReply {
  content?: string | null;
  /** Arguments as JSON text or as an object (serialised). */
  tool_calls?: { name: string; arguments: string | Record<string, unknown>; id?: string }[];
  reasoning?: string;
  /** Default: "tool_calls" when there are tool calls, else "stop". */
  finish_reason?: string;
  /**
   * Token log-probabilities, sent as llama-server sends them (`choices[0].logprobs.content`,
   * one entry per token) when the request asks for `logprobs`.
   */
  logprobs?: number[];
}

export type StandinPolicy = (request: ChatRequest) => StandinReply | Promise<StandinReply>;

export interface WireOptions {
  /** Where reasoning goes: vLLM and DeepSeek say reasoning_content, OpenRouter reasoning. */
  reasoningField: "reasoning_content" | "reasoning";
  /** Leave usage out, as some servers do. */
  omitUsage: boolean;
}

export const FINGERPRINT = "sabuild-standin";

interface Normalised {
  content: string | null;
  reasoning?: string;
  toolCalls: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  finishReason: string;
  logprobs?: { content: { token: string; logprob: number; bytes: null; top_logprobs: never[] }[] };
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export function normalise(request: ChatRequest, reply: StandinReply, id: string): Normalised {
  const toolCalls = (reply.tool_calls ?? []).map((c, i) => ({
    id: c.id ?? `call_${id}_${i}`,
    type: "function" as const,
    function: { name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments) },
  }));
  const content = reply.content ?? (toolCalls.length ? null : "");
  const completionText = (content ?? "") + (reply.reasoning ?? "") + toolCalls.map((c) => c.function.name + c.function.arguments).join("");
  const prompt = estimatePromptTokens(request);
  const completion = estimateTextTokens(completionText);
  return {
    content,
    ...(reply.reasoning ? { reasoning: reply.reasoning } : {}),
    toolCalls,
    finishReason: reply.finish_reason ?? (toolCalls.length ? "tool_calls" : "stop"),
    ...(reply.logprobs && (request as { logprobs?: unknown }).logprobs === true
      ? { logprobs: { content: reply.logprobs.map((logprob, i) => ({ token: `t${i}`, logprob, bytes: null, top_logprobs: [] })) } }
      : {}),
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

/** A chat.completion object. */
export function completionBody(id: string, model: string, r: Normalised, wire: WireOptions): unknown {
  const message: Record<string, unknown> = { role: "assistant", content: r.content, refusal: null };
  if (r.reasoning) message[wire.reasoningField] = r.reasoning;
  if (r.toolCalls.length) message.tool_calls = r.toolCalls;
  return {
    id: `chatcmpl-${id}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: FINGERPRINT,
    choices: [{ index: 0, message, logprobs: r.logprobs ?? null, finish_reason: r.finishReason }],
    ...(wire.omitUsage ? {} : { usage: r.usage }),
    x_sabuild_standin: 1,
  };
}

/**
 * The same reply as chat.completion.chunk events, split the way real servers split them: a
 * role delta, reasoning and content in small pieces, each tool call opened with its id and name
 * and then its arguments in pieces, a finish_reason chunk, a usage chunk when asked for.
 */
export function completionChunks(id: string, model: string, r: Normalised, wire: WireOptions, includeUsage: boolean): unknown[] {
  const base = { id: `chatcmpl-${id}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model, system_fingerprint: FINGERPRINT };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): unknown => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const out: unknown[] = [chunk({ role: "assistant", content: r.content === null ? null : "" })];
  for (const piece of pieces(r.reasoning ?? "")) out.push(chunk({ [wire.reasoningField]: piece }));
  for (const piece of pieces(r.content ?? "")) out.push(chunk({ content: piece }));
  r.toolCalls.forEach((call, index) => {
    out.push(chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }));
    for (const piece of pieces(call.function.arguments)) out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  out.push(chunk({}, r.finishReason));
  if (includeUsage && !wire.omitUsage) out.push({ ...base, choices: [], usage: r.usage });
  return out;
}

function pieces(text: string, size = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
