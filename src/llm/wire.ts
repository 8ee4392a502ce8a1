import type { ChatMessage, ChatRequest, ToolCall, Usage } from "./types.js";

/** The assistant's reply as parsed from a response or assembled from stream chunks. */
export interface ParsedReply {
  message: ChatMessage;
  finish_reason: string | null;
  /** Undefined when the endpoint reported none. */
  usage?: Usage;
  model?: string;
}

/** A 200 response that holds no reply (OpenRouter sends upstream failures this way). */
export class EmptyReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmptyReplyError";
  }
}

/**
 * The body as sent. Messages lose `reasoning` (the OpenAI API rejects unknown message fields
 * and DeepSeek rejects reasoning sent back) and empty tool_calls lists. OpenAI's reasoning
 * models take max_completion_tokens instead of max_tokens.
 */
export function wireBody(request: ChatRequest, defaults: { model: string; temperature?: number; max_tokens?: number }, baseUrl: string): ChatRequest {
  const { stream: _stream, stream_options: _options, ...rest } = request;
  const body: ChatRequest = {
    ...rest,
    model: request.model || defaults.model,
    messages: request.messages.map(wireMessage),
  };
  if (body.temperature === undefined && defaults.temperature !== undefined) body.temperature = defaults.temperature;
  if (body.max_tokens === undefined && body.max_completion_tokens === undefined && defaults.max_tokens !== undefined) body.max_tokens = defaults.max_tokens;
  if (isOpenAiReasoningModel(baseUrl, body.model) && body.max_tokens !== undefined) {
    body.max_completion_tokens = body.max_tokens;
    delete body.max_tokens;
  }
  return body;
}

function wireMessage(m: ChatMessage): ChatMessage {
  const { reasoning: _reasoning, tool_calls, ...rest } = m;
  return tool_calls?.length ? { ...rest, tool_calls } : rest;
}

function isOpenAiReasoningModel(baseUrl: string, model: string): boolean {
  return /(^|\.)openai\.com$/.test(new URL(baseUrl).hostname) && /^(o\d|gpt-5)/.test(model);
}

type Loose = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Normalises a non-streaming chat.completion. */
export function parseCompletion(response: unknown): ParsedReply {
  const r = (response ?? {}) as Loose;
  const choice = Array.isArray(r.choices) ? (r.choices[0] as Loose | undefined) : undefined;
  if (!choice) {
    const error = (r.error ?? {}) as Loose;
    throw new EmptyReplyError(`the endpoint answered without a choice${str(error.message) ? `: ${str(error.message)}` : ""}`);
  }
  const m = (choice.message ?? {}) as Loose;
  const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as Loose[]) : [];
  const message = assistantMessage(
    str(m.content) ?? null,
    str(m.reasoning_content) ?? str(m.reasoning),
    calls.map((c, i) => {
      const fn = (c.function ?? {}) as Loose;
      return { id: str(c.id), name: str(fn.name) ?? "", arguments: fn.arguments, index: i };
    }),
  );
  return { message, finish_reason: str(choice.finish_reason) ?? null, usage: parseUsage(r.usage), model: str(r.model) };
}

/** Collects chat.completion.chunk deltas into one reply. */
export class StreamAssembler {
  private content: string | undefined;
  private reasoning: string | undefined;
  private readonly calls: { id?: string; name: string; arguments: string; index: number }[] = [];
  private finish: string | null = null;
  private usage: Usage | undefined;
  private model: string | undefined;

  add(chunk: unknown): void {
    const c = (chunk ?? {}) as Loose;
    this.model = str(c.model) ?? this.model;
    this.usage = parseUsage(c.usage) ?? this.usage;
    const choice = Array.isArray(c.choices) ? (c.choices[0] as Loose | undefined) : undefined;
    if (!choice) return;
    const d = (choice.delta ?? {}) as Loose;
    const text = str(d.content);
    if (text) this.content = (this.content ?? "") + text;
    const thought = str(d.reasoning_content) ?? str(d.reasoning);
    if (thought) this.reasoning = (this.reasoning ?? "") + thought;
    for (const tc of Array.isArray(d.tool_calls) ? (d.tool_calls as Loose[]) : []) {
      const index = typeof tc.index === "number" ? tc.index : 0;
      let slot = this.calls.find((s) => s.index === index);
      if (!slot) this.calls.push((slot = { name: "", arguments: "", index }));
      const fn = (tc.function ?? {}) as Loose;
      if (str(tc.id)) slot.id = str(tc.id);
      if (str(fn.name)) slot.name = str(fn.name)!;
      if (str(fn.arguments)) slot.arguments += str(fn.arguments);
    }
    if (str(choice.finish_reason)) this.finish = str(choice.finish_reason)!;
  }

  result(): ParsedReply {
    const message = assistantMessage(this.content ?? null, this.reasoning, this.calls.toSorted((a, b) => a.index - b.index));
    return { message, finish_reason: this.finish, usage: this.usage, model: this.model };
  }
}

/**
 * Some servers give tool calls no id, or their arguments as an object: ids become call_<i> and
 * arguments JSON text, so the message can be sent back as it is.
 */
function assistantMessage(content: string | null, reasoning: string | undefined, calls: { id?: string; name: string; arguments: unknown; index: number }[]): ChatMessage {
  const message: ChatMessage = { role: "assistant", content };
  if (reasoning) message.reasoning = reasoning;
  if (calls.length) {
    message.tool_calls = calls.map((c, i): ToolCall => ({
      id: c.id || `call_${i}`,
      type: "function",
      function: { name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {}) },
    }));
  }
  return message;
}

function parseUsage(u: unknown): Usage | undefined {
  const usage = u as Loose | null | undefined;
  if (!usage || typeof usage.prompt_tokens !== "number" || typeof usage.completion_tokens !== "number") return undefined;
  return { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens };
}
