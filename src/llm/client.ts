import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from "openai";
import { Semaphore } from "../engine/semaphore.js";
import { Budget, Meter, type MeterLabel } from "./accounting.js";
import { ResponseCache, requestKey, type CachedReply } from "./cache.js";
import { resolveEndpoint, type EndpointSettings } from "./endpoint.js";
import { ChatRequestError, hintFor } from "./errors.js";
import { RateLimiter, sleep } from "./limits.js";
import { builtinPricing, costUsd, type Pricing } from "./pricing.js";
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, retryAfterMs, type RetryPolicy } from "./retry.js";
import { estimatePromptTokens, estimateUsage } from "./tokens.js";
import type { ChatClient, ChatOptions, ChatRequest, ChatResult } from "./types.js";
import { EmptyReplyError, parseCompletion, StreamAssembler, wireBody, type ParsedReply } from "./wire.js";

export interface ChatClientOptions extends EndpointSettings {
  /** The model for requests that name none. */
  model: string;
  /** Sampling defaults for requests that set none. */
  temperature?: number;
  max_tokens?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  rpm?: number;
  tpm?: number;
  retry?: Partial<RetryPolicy>;
  /** Per attempt (default 600 s). */
  timeoutMs?: number;
  /** Names the endpoint in cache keys instead of baseUrl (a stand-in's port changes every run). */
  cacheEndpoint?: string;
  /** Overrides the built-in price table for this endpoint's model. */
  pricing?: Pricing;
  /** Response cache: a ResponseCache, the store root to keep one in, or false for none. */
  cache?: ResponseCache | string | false;
  meter?: Meter;
  label?: MeterLabel;
  budget?: Budget;
  /** Ask for server-sent events and assemble the chunks (some servers behave better so). */
  stream?: boolean;
  /** Environment for `${VAR}` templates (default process.env). */
  env?: Record<string, string | undefined>;
  /** Warnings (unknown model price, a cache write that failed); default: stderr. */
  warn?: (text: string) => void;
  /** Called before each retry, for the stage log. */
  onRetry?: (info: { attempt: number; status?: number; waitMs: number; message: string }) => void;
}

/** The teacher client: see docs/teacher.md. */
export interface TeacherClient extends ChatClient {
  readonly baseUrl: string;
  readonly model: string;
  readonly meter: Meter;
}

export function createChatClient(options: ChatClientOptions): TeacherClient {
  return new OpenAiChatClient(options);
}

const warnedModels = new Set<string>();

interface Failure {
  status?: number;
  retryable: boolean;
  waitMs?: number;
  message: string;
}

class OpenAiChatClient implements TeacherClient {
  readonly baseUrl: string;
  readonly model: string;
  readonly meter: Meter;
  private readonly apiKey: string;
  private readonly keyFrom: string;
  private readonly openai: OpenAI;
  private readonly semaphore: Semaphore;
  private readonly limiter: RateLimiter;
  private readonly retry: RetryPolicy;
  private readonly cache: ResponseCache | undefined;
  private readonly warn: (text: string) => void;

  constructor(private readonly options: ChatClientOptions) {
    const endpoint = resolveEndpoint(options, options.env);
    this.baseUrl = endpoint.baseUrl;
    this.apiKey = endpoint.apiKey;
    this.keyFrom = `${options.configKey ?? "teacher"}.api_key${options.apiKey ? ` = ${JSON.stringify(options.apiKey.startsWith("${") ? options.apiKey : "<literal>")}` : ""}`;
    this.model = options.model;
    this.meter = options.meter ?? new Meter();
    this.openai = new OpenAI({
      baseURL: endpoint.baseUrl,
      // The SDK insists on some credential; with none, the Authorization header is dropped below.
      apiKey: endpoint.apiKey || "no-key",
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      maxRetries: 0,
      timeout: options.timeoutMs ?? 600_000,
      defaultHeaders: { ...endpoint.headers, ...(endpoint.apiKey ? {} : { Authorization: null }) },
    });
    this.semaphore = new Semaphore(options.concurrency ?? 4);
    this.limiter = new RateLimiter({ rpm: options.rpm, tpm: options.tpm });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.cache = typeof options.cache === "string" ? new ResponseCache(options.cache) : options.cache || undefined;
    this.warn = options.warn ?? ((text) => process.stderr.write(`warning: ${text}\n`));
  }

  async complete(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResult> {
    const body = wireBody(request, this.options, this.baseUrl);
    const label = options.label ?? this.options.label;
    const key = requestKey(this.options.cacheEndpoint ?? this.baseUrl, body, options.cacheSalt);
    const hit = await this.cache?.get(key);
    if (hit) {
      this.meter.record(label, { usage: hit.usage, costUsd: 0, cached: true });
      return { ...resultOf(hit), costUsd: 0, cached: true, latencyMs: 0 };
    }
    const entry = await this.semaphore.run(async (): Promise<CachedReply> => {
      this.options.budget?.check();
      const reply = await this.send(body, options.signal);
      const usageEstimated = reply.usage === undefined;
      const usage = reply.usage ?? estimateUsage(body, reply.message);
      const cost = costUsd(this.pricingFor(body.model, reply.model), usage.prompt_tokens, usage.completion_tokens);
      // Charged before the slot is given back, so the next request sees this spend.
      this.options.budget?.charge(usage, cost);
      this.meter.record(label, { usage, costUsd: cost, cached: false, usageEstimated });
      return {
        version: 1,
        message: reply.message,
        finish_reason: reply.finish_reason,
        usage,
        usageEstimated,
        model: reply.model ?? body.model,
        costUsd: cost,
        latencyMs: reply.latencyMs,
      };
    });
    await this.cache?.put(key, entry).catch((e: Error) => this.warn(`could not store a teacher reply in the cache: ${e.message}`));
    return { ...resultOf(entry), costUsd: entry.costUsd, cached: false, latencyMs: entry.latencyMs };
  }

  /** One call: waits for the rate limits, sends, retries what is worth retrying. */
  private async send(body: ChatRequest, signal?: AbortSignal): Promise<ParsedReply & { latencyMs: number }> {
    const estimate = estimatePromptTokens(body) + Number(body.max_tokens ?? body.max_completion_tokens ?? 0);
    for (let attempt = 1; ; attempt++) {
      const settle = await this.limiter.acquire(estimate, signal);
      const started = performance.now();
      try {
        const reply = await this.request(body, signal);
        settle(reply.usage ? reply.usage.prompt_tokens + reply.usage.completion_tokens : estimate);
        return { ...reply, latencyMs: Math.round(performance.now() - started) };
      } catch (e) {
        settle(0);
        if (signal?.aborted || e instanceof APIUserAbortError) throw signal?.reason ?? e;
        const failure = this.classify(e);
        const outOfRetries = attempt > this.retry.maxRetries;
        const waitMs = failure.waitMs ?? backoffMs(attempt - 1, this.retry);
        if (!failure.retryable || outOfRetries || waitMs > this.retry.maxRetryAfterMs) {
          throw this.finalError(body.model, failure, attempt, waitMs > this.retry.maxRetryAfterMs ? waitMs : undefined);
        }
        this.options.onRetry?.({ attempt, status: failure.status, waitMs, message: this.redact(failure.message) });
        await sleep(waitMs, signal);
      }
    }
  }

  private async request(body: ChatRequest, signal?: AbortSignal): Promise<ParsedReply> {
    const params = body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    if (!this.options.stream) return parseCompletion(await this.openai.chat.completions.create(params, { signal }));
    const stream = await this.openai.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }, { signal });
    const assembler = new StreamAssembler();
    for await (const chunk of stream) assembler.add(chunk);
    return assembler.result();
  }

  private classify(e: unknown): Failure {
    if (e instanceof APIConnectionError) {
      // fetch wraps the system error (ECONNREFUSED, ENOTFOUND...) one or two levels down.
      const cause = e.cause as (Error & { code?: unknown; cause?: Error & { code?: unknown } }) | undefined;
      const code = [cause?.cause?.code, cause?.code].find((c): c is string => typeof c === "string");
      return { retryable: true, message: `${e.message}${code ? ` (${code})` : ""}` };
    }
    if (e instanceof APIError && typeof e.status === "number") {
      const serverMessage = (e.error as { message?: unknown } | undefined)?.message;
      return {
        status: e.status,
        retryable: isRetryableStatus(e.status),
        waitMs: isRetryableStatus(e.status) ? retryAfterMs(e.headers) : undefined,
        message: typeof serverMessage === "string" ? serverMessage : e.message,
      };
    }
    if (e instanceof EmptyReplyError || e instanceof SyntaxError) return { retryable: true, message: e.message };
    if (e instanceof APIError) return { retryable: true, message: e.message };
    throw e;
  }

  private finalError(model: string, failure: Failure, attempts: number, tooLongMs?: number): ChatRequestError {
    const status = failure.status === undefined ? "" : `HTTP ${failure.status}: `;
    const tries = attempts === 1 ? "" : ` after ${attempts} attempts`;
    const wait = tooLongMs === undefined ? "" : `; the server asked to wait ${Math.round(tooLongMs / 1000)} s, longer than sabuild waits`;
    const hint = hintFor(failure.status, this.baseUrl, this.keyFrom);
    const message = `teacher request to ${this.baseUrl} (model ${model}) failed${tries}: ${status}${failure.message}${wait}${hint ? `\n  hint: ${hint}` : ""}`;
    return new ChatRequestError(this.redact(message), { endpoint: this.baseUrl, model, status: failure.status, attempts, retryable: failure.retryable });
  }

  /** Servers sometimes quote the key in an error; it must not reach a log. */
  private redact(text: string): string {
    return this.apiKey.length >= 4 ? text.split(this.apiKey).join("***") : text;
  }

  private pricingFor(requested: string, reported: string | undefined): Pricing | undefined {
    const pricing = this.options.pricing ?? builtinPricing(requested) ?? (reported ? builtinPricing(reported) : undefined);
    if (!pricing && !warnedModels.has(requested)) {
      warnedModels.add(requested);
      this.warn(`no price known for model ${requested}: its cost counts as $0 (set teacher.pricing to price it)`);
    }
    return pricing;
  }
}

function resultOf(entry: CachedReply): Omit<ChatResult, "costUsd" | "cached" | "latencyMs"> {
  return {
    message: entry.message,
    finish_reason: entry.finish_reason,
    usage: entry.usage,
    model: entry.model,
    ...(entry.usageEstimated ? { usageEstimated: true } : {}),
  };
}
