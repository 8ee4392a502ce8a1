import type { ChatMessage, ChatRequest, Usage } from "./types.js";

/**
 * Token estimates for when no tokenizer of the endpoint's model is at hand: rate limits need a
 * number before sending, and some endpoints omit usage. About 4 characters per token is what
 * OpenAI documents for English text and code; a small per-message overhead covers the chat
 * template's role markers.
 */
export const CHARS_PER_TOKEN = 4;
const PER_MESSAGE_OVERHEAD = 4;

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export function estimatePromptTokens(request: Pick<ChatRequest, "messages" | "tools">): number {
  let tokens = 3;
  for (const m of request.messages) tokens += PER_MESSAGE_OVERHEAD + estimateTextTokens(messageText(m));
  if (request.tools?.length) tokens += estimateTextTokens(JSON.stringify(request.tools));
  return tokens;
}

export function estimateCompletionTokens(message: ChatMessage): number {
  return estimateTextTokens(messageText(message));
}

export function estimateUsage(request: ChatRequest, reply: ChatMessage): Usage {
  return { prompt_tokens: estimatePromptTokens(request), completion_tokens: estimateCompletionTokens(reply) };
}

function messageText(m: ChatMessage): string {
  let text = m.content ?? "";
  if (m.reasoning) text += m.reasoning;
  for (const call of m.tool_calls ?? []) text += call.function.name + call.function.arguments;
  return text;
}
