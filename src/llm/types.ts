/**
 * The teacher (and judge) client contract: OpenAI-compatible chat completions with retries,
 * rate limits, a response cache in the content store, token/cost accounting and budgets.
 */

/** An OpenAI chat message as sent and recorded (assistant tool_calls, tool results, reasoning). */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | null;
  /** Reasoning text when the endpoint returns it (reasoning_content / reasoning). */
  reasoning?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
}

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** The request body, as sent on the wire (minus stream). Its canonical hash keys the cache. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: { type: "function"; function: { name: string; description?: string; parameters?: unknown } }[];
  tool_choice?: unknown;
  temperature?: number;
  max_tokens?: number;
  seed?: number;
  [extra: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface ChatResult {
  message: ChatMessage;
  finish_reason: string | null;
  usage: Usage;
  /** USD for this call (0 when served from the cache or no pricing is known). */
  costUsd: number;
  /** Served from the response cache: no request was made. */
  cached: boolean;
  /** Milliseconds spent (0 for cache hits). */
  latencyMs: number;
  /** Model name the endpoint reported. */
  model: string;
  /** The endpoint sent no usage: the token counts are estimates (~4 characters per token). */
  usageEstimated?: boolean;
}

export interface ChatOptions {
  signal?: AbortSignal;
  /** Distinguishes repeated identical requests (sample k of a task) in the cache key. */
  cacheSalt?: string;
  /** Who spends: the meter aggregates by "subagent:stage" (overrides the client's label). */
  label?: { subagent?: string; stage?: string };
}

export interface ChatClient {
  complete(request: ChatRequest, options?: ChatOptions): Promise<ChatResult>;
}

/** Thrown before a request when the budget is already spent; the stage keeps finished items. */
export class BudgetExceededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BudgetExceededError";
  }
}
