/**
 * USD per million input and output tokens. List prices of common model names at the time of
 * writing (standard tier, no caching discounts, short-context rates); `teacher.pricing` in
 * subagents.yaml overrides them for any model, and is the way to price anything not listed.
 */
export interface Pricing {
  input_per_mtok: number;
  output_per_mtok: number;
}

const TABLE: Record<string, [number, number]> = {
  // OpenAI
  "gpt-5": [1.25, 10],
  "gpt-5-mini": [0.25, 2],
  "gpt-5-nano": [0.05, 0.4],
  "gpt-4.1": [2, 8],
  "gpt-4.1-mini": [0.4, 1.6],
  "gpt-4.1-nano": [0.1, 0.4],
  "gpt-4o": [2.5, 10],
  "gpt-4o-mini": [0.15, 0.6],
  "gpt-4-turbo": [10, 30],
  "gpt-3.5-turbo": [0.5, 1.5],
  o1: [15, 60],
  "o1-mini": [1.1, 4.4],
  o3: [2, 8],
  "o3-mini": [1.1, 4.4],
  "o4-mini": [1.1, 4.4],
  "gpt-oss-120b": [0.15, 0.6],
  "gpt-oss-20b": [0.05, 0.2],
  // Anthropic (both the API's and OpenRouter's spellings)
  "claude-opus-4-5": [5, 25],
  "claude-opus-4.5": [5, 25],
  "claude-opus-4-1": [15, 75],
  "claude-opus-4.1": [15, 75],
  "claude-opus-4": [15, 75],
  "claude-sonnet-4-5": [3, 15],
  "claude-sonnet-4.5": [3, 15],
  "claude-sonnet-4": [3, 15],
  "claude-3-7-sonnet": [3, 15],
  "claude-3.7-sonnet": [3, 15],
  "claude-3-5-sonnet": [3, 15],
  "claude-3.5-sonnet": [3, 15],
  "claude-haiku-4-5": [1, 5],
  "claude-haiku-4.5": [1, 5],
  "claude-3-5-haiku": [0.8, 4],
  "claude-3.5-haiku": [0.8, 4],
  "claude-3-haiku": [0.25, 1.25],
  // Google
  "gemini-2.5-pro": [1.25, 10],
  "gemini-2.5-flash": [0.3, 2.5],
  "gemini-2.5-flash-lite": [0.1, 0.4],
  "gemini-2.0-flash": [0.1, 0.4],
  "gemini-2.0-flash-lite": [0.075, 0.3],
  // Open-weight models as OpenRouter and their makers' APIs list them
  "deepseek-chat": [0.27, 1.1],
  "deepseek-reasoner": [0.55, 2.19],
  "deepseek-chat-v3": [0.27, 1.1],
  "deepseek-r1": [0.55, 2.19],
  "qwen3-coder": [0.22, 0.95],
  "kimi-k2": [0.6, 2.5],
};

/**
 * The price of a model name as endpoints spell it: "openai/gpt-4.1" (OpenRouter),
 * "gpt-4o-2024-08-06" (dated snapshot), "anthropic/claude-sonnet-4.5:thinking". The provider
 * prefix goes, then the longest listed name that the rest starts with (followed by "-", ":" or
 * "@", so "gpt-4o-mini" never prices as "gpt-4o"). Undefined when nothing matches.
 */
export function builtinPricing(model: string): Pricing | undefined {
  const name = model.toLowerCase().replace(/^.*\//, "");
  let best: string | undefined;
  for (const known of Object.keys(TABLE)) {
    const matches = name === known || (name.startsWith(known) && /[-:@]/.test(name[known.length] ?? ""));
    if (matches && (best === undefined || known.length > best.length)) best = known;
  }
  if (best === undefined) return undefined;
  const [input, output] = TABLE[best]!;
  return { input_per_mtok: input, output_per_mtok: output };
}

export function costUsd(pricing: Pricing | undefined, promptTokens: number, completionTokens: number): number {
  if (!pricing) return 0;
  return (promptTokens * pricing.input_per_mtok + completionTokens * pricing.output_per_mtok) / 1e6;
}

export interface CostEstimate {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  usd: number;
  /** False when no price is known for the model: usd is then 0. */
  priced: boolean;
}

/**
 * What a stage will spend before it runs, for `plan`:
 *
 *     usd = calls x (prompt_tokens x input_per_mtok + completion_tokens x output_per_mtok) / 1e6
 *
 * with prompt/completion tokens per call. For rollouts, whose prompt grows each turn, get the
 * per-call averages from rolloutTokens().
 */
export function estimateCost(input: {
  model: string;
  pricing?: Pricing;
  calls: number;
  promptTokensPerCall: number;
  completionTokensPerCall: number;
}): CostEstimate {
  const pricing = input.pricing ?? builtinPricing(input.model);
  const prompt = input.calls * input.promptTokensPerCall;
  const completion = input.calls * input.completionTokensPerCall;
  return { calls: input.calls, prompt_tokens: prompt, completion_tokens: completion, usd: costUsd(pricing, prompt, completion), priced: pricing !== undefined };
}

/**
 * Average tokens per call of one rollout of `turns` model calls: the first prompt holds the
 * system prompt, tools and task (`initialPromptTokens`); each turn appends the assistant's
 * reply (`completionTokensPerTurn`) and the tool results (`toolResultTokensPerTurn`), all of
 * which the next call sends again. Total prompt tokens = T x P + (C + R) x T x (T - 1) / 2.
 */
export function rolloutTokens(input: {
  turns: number;
  initialPromptTokens: number;
  completionTokensPerTurn: number;
  toolResultTokensPerTurn: number;
}): { promptTokensPerCall: number; completionTokensPerCall: number } {
  const t = Math.max(1, input.turns);
  const growth = input.completionTokensPerTurn + input.toolResultTokensPerTurn;
  const totalPrompt = t * input.initialPromptTokens + (growth * t * (t - 1)) / 2;
  return { promptTokensPerCall: totalPrompt / t, completionTokensPerCall: input.completionTokensPerTurn };
}
