/** The teacher client's public API: see docs/teacher.md. */
export { createChatClient, type ChatClientOptions, type TeacherClient } from "./client.js";
export { teacherClientOptions } from "./config.js";
export { Budget, Meter, emptyTotals, labelKey, type BudgetLimits, type MeterLabel, type UsageTotals } from "./accounting.js";
export { ResponseCache, requestKey, type CachedReply } from "./cache.js";
export { resolveEndpoint, isLoopback, type EndpointSettings, type ResolvedEndpoint } from "./endpoint.js";
export { ChatRequestError } from "./errors.js";
export { builtinPricing, costUsd, estimateCost, rolloutTokens, type CostEstimate, type Pricing } from "./pricing.js";
export { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
export { estimatePromptTokens, estimateTextTokens, CHARS_PER_TOKEN } from "./tokens.js";
export { BudgetExceededError, type ChatClient, type ChatMessage, type ChatOptions, type ChatRequest, type ChatResult, type ToolCall, type Usage } from "./types.js";
