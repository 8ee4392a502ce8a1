import { createServer } from "node:net";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  Budget,
  BudgetExceededError,
  builtinPricing,
  ChatRequestError,
  createChatClient,
  estimateCost,
  Meter,
  ResponseCache,
  rolloutTokens,
  type ChatClientOptions,
  type ChatRequest,
} from "../src/llm/index.js";
import { retryAfterMs } from "../src/llm/retry.js";
import { parseConfig } from "../src/config/index.js";
import { teacherClientOptions } from "../src/llm/index.js";
import { echoPolicy, startStandin, type Standin, type StandinOptions } from "../src/standin/index.js";
import { tempDir } from "./helpers.js";

const servers: Standin[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serve(options: Partial<StandinOptions> = {}): Promise<Standin> {
  const s = await startStandin({ policy: echoPolicy, ...options });
  servers.push(s);
  return s;
}

function client(s: Standin, options: Partial<ChatClientOptions> = {}) {
  const warnings: string[] = [];
  const c = createChatClient({
    baseUrl: s.url,
    apiKey: "",
    model: "gpt-4.1",
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    warn: (w) => warnings.push(w),
    ...options,
  });
  return Object.assign(c, { warnings });
}

const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: "gpt-4.1", messages: [{ role: "user", content }], ...extra });

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe("teacher client", () => {
  it("returns content, usage, cost and finish reason", async () => {
    const s = await serve();
    const c = client(s, { label: { subagent: "tester", stage: "traces" } });
    const r = await c.complete(ask("hello"));
    expect(r.message).toEqual({ role: "assistant", content: "echo: hello" });
    expect(r.finish_reason).toBe("stop");
    expect(r.model).toBe("gpt-4.1");
    expect(r.cached).toBe(false);
    expect(r.usageEstimated).toBeUndefined();
    expect(r.usage.completion_tokens).toBe(Math.ceil("echo: hello".length / 4));
    // gpt-4.1 list price: $2 in, $8 out per million tokens.
    expect(r.costUsd).toBeCloseTo((r.usage.prompt_tokens * 2 + r.usage.completion_tokens * 8) / 1e6, 12);
    expect(c.meter.summary()["tester:traces"]).toMatchObject({ requests: 1, cached_requests: 0, completion_tokens: r.usage.completion_tokens });
    expect(s.stats.bodies[0]).toMatchObject({ model: "gpt-4.1", messages: [{ role: "user", content: "hello" }] });
  });

  it("round-trips tool calls and reasoning, plain and streamed", async () => {
    for (const stream of [false, true]) {
      const s = await serve({ reasoningField: stream ? "reasoning" : "reasoning_content" });
      const c = client(s, { stream });
      const tools: ChatRequest["tools"] = [{ type: "function", function: { name: "Read", parameters: { type: "object" } } }];
      const call = await c.complete(ask('/tool Read {"file_path": "/etc/hostname, a path long enough to be split into chunks"}', { tools }));
      expect(call.finish_reason).toBe("tool_calls");
      expect(call.message.content).toBeNull();
      expect(call.message.tool_calls).toHaveLength(1);
      expect(call.message.tool_calls![0]!.function).toEqual({ name: "Read", arguments: '{"file_path": "/etc/hostname, a path long enough to be split into chunks"}' });
      expect(call.message.tool_calls![0]!.id).toMatch(/^call_/);
      expect(call.usage.completion_tokens).toBeGreaterThan(0);
      expect(call.usageEstimated).toBeUndefined();

      const thought = await c.complete(ask("/think first list the files, then read the config"));
      expect(thought.message).toEqual({ role: "assistant", content: "ok", reasoning: "first list the files, then read the config" });

      // The assistant turn goes back as sent, minus reasoning, which endpoints reject.
      const followUp = await c.complete({
        model: "gpt-4.1",
        tools,
        messages: [{ role: "user", content: "go" }, thought.message, call.message, { role: "tool", tool_call_id: call.message.tool_calls![0]!.id, content: "box-7" }],
      });
      expect(followUp.message.content).toBe("<final_answer>box-7</final_answer>");
      const sent = s.stats.bodies.at(-1)!;
      expect(sent.messages[1]).toEqual({ role: "assistant", content: "ok" });
      expect(sent.messages[2]!.tool_calls).toEqual(call.message.tool_calls);
      expect(sent.stream ?? false).toBe(stream);
    }
  });

  it("estimates usage when the endpoint reports none, and says so", async () => {
    const s = await serve({ omitUsage: true });
    const c = client(s);
    const r = await c.complete(ask("no usage here"));
    expect(r.usageEstimated).toBe(true);
    expect(r.usage.prompt_tokens).toBeGreaterThan(0);
    expect(r.usage.completion_tokens).toBe(Math.ceil("echo: no usage here".length / 4));
    expect(c.meter.total().estimated_usage_requests).toBe(1);
  });

  it("retries 429 after the server's Retry-After", async () => {
    const s = await serve({ faults: [{ count: 1, status: 429, retryAfter: 1 }] });
    const retries: number[] = [];
    const c = client(s, { onRetry: (r) => retries.push(r.waitMs) });
    const started = performance.now();
    const r = await c.complete(ask("rate limited"));
    const elapsed = performance.now() - started;
    expect(r.message.content).toBe("echo: rate limited");
    expect(s.stats.requests).toBe(2);
    expect(retries).toEqual([1000]);
    const gap = s.stats.arrivals[1]! - s.stats.arrivals[0]!;
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(3000);

    s.inject({ count: 2, status: 429, retryAfterMs: 300, retryAfter: 30 });
    const t = performance.now();
    await c.complete(ask("rate limited twice"));
    // retry-after-ms wins over Retry-After.
    expect(performance.now() - t).toBeGreaterThanOrEqual(590);
    expect(performance.now() - t).toBeLessThan(3000);
  });

  it("retries 500 and dropped connections with backoff", async () => {
    const s = await serve({ faults: [{ count: 2, status: 500 }, { count: 1, drop: true }] });
    const retries: { attempt: number; status?: number }[] = [];
    const c = client(s, { onRetry: ({ attempt, status }) => retries.push({ attempt, status }) });
    const r = await c.complete(ask("flaky"));
    expect(r.message.content).toBe("echo: flaky");
    expect(s.stats.requests).toBe(4);
    expect(retries).toEqual([{ attempt: 1, status: 500 }, { attempt: 2, status: 500 }, { attempt: 3, status: undefined }]);
  });

  it("times out a slow attempt and retries it", async () => {
    let n = 0;
    const s = await serve({ latencyMs: () => (n++ === 0 ? 3000 : 0) });
    const retries: string[] = [];
    const c = client(s, { timeoutMs: 300, onRetry: (r) => retries.push(r.message) });
    const started = performance.now();
    const r = await c.complete(ask("slow start"));
    expect(r.message.content).toBe("echo: slow start");
    expect(retries).toEqual(["Request timed out."]);
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it("does not retry 400, 401 or 404, and says what failed", async () => {
    const s = await serve({ faults: [{ count: 1, status: 400, message: "Invalid value for 'temperature'" }] });
    const c = client(s, { model: "teacher-x" });
    const e = await c.complete(ask("bad", { model: "teacher-x" })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ChatRequestError);
    expect((e as ChatRequestError).status).toBe(400);
    expect((e as Error).message).toBe(`teacher request to ${s.url} (model teacher-x) failed: HTTP 400: Invalid value for 'temperature'`);
    expect(s.stats.requests).toBe(1);

    s.inject({ count: 1, status: 401, message: "Incorrect API key provided." });
    const unauthorized = (await c.complete(ask("who"), {}).catch((x: unknown) => x)) as ChatRequestError;
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.message).toMatch(/hint: check the API key \(teacher\.api_key\)/);
    expect(s.stats.requests).toBe(2);

    const wrongPath = client({ ...s, url: s.url.replace(/\/v1$/, "/v2") } as Standin);
    const notFound = (await wrongPath.complete(ask("where")).catch((x: unknown) => x)) as ChatRequestError;
    expect(notFound.status).toBe(404);
    expect(notFound.message).toMatch(/hint: check base_url/);
  });

  it("gives up after max_retries with the last status", async () => {
    const s = await serve({ faults: [{ count: 10, status: 503, message: "overloaded" }] });
    const c = client(s, { retry: { maxRetries: 2, baseDelayMs: 5 } });
    const e = (await c.complete(ask("down")).catch((x: unknown) => x)) as ChatRequestError;
    expect(e.message).toMatch(/failed after 3 attempts: HTTP 503: overloaded/);
    expect(e.details).toMatchObject({ attempts: 3, status: 503, endpoint: s.url, model: "gpt-4.1" });
    expect(s.stats.requests).toBe(3);
  });

  it("retries a refused connection, then fails naming the endpoint", async () => {
    const port = await freePort();
    const retries: number[] = [];
    const c = createChatClient({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: "", model: "m", retry: { maxRetries: 2, baseDelayMs: 20 }, onRetry: (r) => retries.push(r.attempt) });
    const e = (await c.complete(ask("anyone?")).catch((x: unknown) => x)) as ChatRequestError;
    expect(e).toBeInstanceOf(ChatRequestError);
    expect(e.message).toContain(`teacher request to http://127.0.0.1:${port}/v1 (model gpt-4.1) failed after 3 attempts: Connection error. (ECONNREFUSED)`);
    expect(e.message).toContain(`hint: is the server running and reachable at http://127.0.0.1:${port}/v1?`);
    expect(retries).toEqual([1, 2]);
  });

  it("aborts a request in flight and a retry wait", async () => {
    const s = await serve({ latencyMs: 2000 });
    const c = client(s);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stage cancelled")), 100);
    const started = performance.now();
    await expect(c.complete(ask("slow"), { signal: controller.signal })).rejects.toThrow("stage cancelled");
    expect(performance.now() - started).toBeLessThan(1000);

    const limited = await serve({ faults: [{ count: 1, status: 429, retryAfter: 20 }] });
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(new Error("stop waiting")), 200);
    await expect(client(limited).complete(ask("x"), { signal: waiting.signal })).rejects.toThrow("stop waiting");
  });

  it("answers a repeated request from the cache: no HTTP request, same result", async () => {
    const s = await serve();
    const store = tempDir("sabuild-llm-cache-");
    const request = ask("cache me", { temperature: 0.9 });
    const first = await client(s, { cache: store }).complete(request);
    expect(s.stats.requests).toBe(1);
    // A rebuild: a new client (new process, same store) asks the same thing.
    const rebuild = client(s, { cache: store });
    const again = await rebuild.complete(request);
    expect(s.stats.requests).toBe(1);
    expect(again).toEqual({ ...first, cached: true, costUsd: 0, latencyMs: 0 });
    expect(again.usage).toEqual(first.usage);
    expect(rebuild.meter.total()).toMatchObject({ requests: 0, cached_requests: 1, cost_usd: 0 });

    // Defaults filled in by the client are part of the key: another temperature is another request.
    await rebuild.complete(ask("cache me"));
    expect(s.stats.requests).toBe(2);
    // So is the endpoint.
    const other = await serve();
    await client(other, { cache: store }).complete(request);
    expect(other.stats.requests).toBe(1);
  });

  it("keeps samples apart by cacheSalt", async () => {
    const s = await serve();
    const store = tempDir("sabuild-llm-cache-");
    const c = client(s, { cache: store });
    await c.complete(ask("sample me"), { cacheSalt: "task-1~0" });
    await c.complete(ask("sample me"), { cacheSalt: "task-1~1" });
    expect(s.stats.requests).toBe(2);
    const r = await client(s, { cache: store }).complete(ask("sample me"), { cacheSalt: "task-1~1" });
    expect(r.cached).toBe(true);
    expect(s.stats.requests).toBe(2);
  });

  it("treats a cache entry whose blob is gone as a miss", async () => {
    const s = await serve();
    const store = tempDir("sabuild-llm-cache-");
    await client(s, { cache: store }).complete(ask("fragile"));
    const cache = new ResponseCache(store);
    const [blob] = await cache.blobs();
    expect(blob).toMatch(/^[0-9a-f]{64}$/);
    rmSync(join(store, "cas", blob!.slice(0, 2), blob!));
    const r = await client(s, { cache: store }).complete(ask("fragile"));
    expect(r.cached).toBe(false);
    expect(s.stats.requests).toBe(2);
  });

  it("stops at a token budget, keeping what finished; cache hits stay free", async () => {
    const s = await serve();
    const store = tempDir("sabuild-llm-cache-");
    const first = await client(s, { cache: store }).complete(ask("one"));
    const perCall = first.usage.prompt_tokens + first.usage.completion_tokens;
    const budget = new Budget({ tokens: perCall * 2 }, "traces.budget");
    const c = client(s, { cache: store, budget });
    const kept = [await c.complete(ask("one")), await c.complete(ask("two")), await c.complete(ask("six"))];
    expect(kept.map((r) => r.cached)).toEqual([true, false, false]);
    expect(budget.spent.tokens).toBe(perCall * 2);
    const e = await c.complete(ask("ten")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BudgetExceededError);
    expect((e as Error).message).toBe(`traces.budget.tokens of ${perCall * 2} reached (${perCall * 2} tokens spent); no further requests are sent, finished results are kept`);
    expect(s.stats.requests).toBe(3);
    expect(kept.map((r) => r.message.content)).toEqual(["echo: one", "echo: two", "echo: six"]);
    // Paid-for replies still come back after the budget is spent.
    expect((await c.complete(ask("two"))).cached).toBe(true);
  });

  it("stops at a USD budget; calls in flight finish", async () => {
    const s = await serve({ latencyMs: 100 });
    const pricing = { input_per_mtok: 1_000_000, output_per_mtok: 1_000_000 }; // $1 a token
    const budget = new Budget({ usd: 1 });
    const c = client(s, { budget, pricing, concurrency: 2 });
    const results = await Promise.allSettled(["a", "b", "c", "d"].map((x) => c.complete(ask(x))));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "rejected"]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(BudgetExceededError);
    expect((results[2] as PromiseRejectedResult).reason.message).toMatch(/^budget\.usd of \$1 reached \(\$\d+\.\d{4} spent\)/);
    expect(s.stats.requests).toBe(2);
    expect(budget.spent.usd).toBeGreaterThan(1);
  });

  it("keeps at most `concurrency` requests in flight", async () => {
    const s = await serve({ latencyMs: 80 });
    const c = client(s, { concurrency: 2 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => c.complete(ask(`n${i}`))));
    expect(s.stats.requests).toBe(7);
    expect(s.stats.maxInFlight).toBe(2);
  });

  it("spaces requests to the rpm limit", async () => {
    const s = await serve();
    const c = client(s, { concurrency: 8, rpm: 300 }); // one request per 200 ms
    await Promise.all(Array.from({ length: 4 }, (_, i) => c.complete(ask(`r${i}`))));
    // Sent 200 ms apart; arrival times carry the jitter of a busy machine.
    const arrivals = s.stats.arrivals.toSorted((a, b) => a - b);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 1]!).toBeGreaterThanOrEqual(100);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(540);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeLessThan(2000);
  });

  it("reserves max_tokens against tpm and gives back what a reply did not use", async () => {
    const s = await serve({ latencyMs: 150 });
    // 6000 tokens a minute; each request reserves ~5000 (max_tokens) but uses ~10.
    const c = client(s, { concurrency: 4, tpm: 6000, max_tokens: 5000 });
    const started = performance.now();
    await Promise.all([c.complete(ask("t1")), c.complete(ask("t2"))]);
    const [a, b] = s.stats.arrivals;
    // The second waited for the first to settle (not the 40 s a refill would take).
    expect(b! - a!).toBeGreaterThanOrEqual(140);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("resolves the key from the environment at run time and never writes it down", async () => {
    const key = "sk-test-7f3a9c1e5b2d4f6a8c0e";
    const s = await serve({ apiKey: key });
    const store = tempDir("sabuild-llm-cache-");
    const env = { SABUILD_TEST_KEY: key };
    const missing = (() => {
      try {
        client(s, { apiKey: "${SABUILD_TEST_KEY}", env: {}, configKey: "subagents.tester.teacher" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(missing?.message).toBe(
      'subagents.tester.teacher.api_key: environment variable SABUILD_TEST_KEY is not set (configured as "${SABUILD_TEST_KEY}"); export it before running sabuild, or write api_key: "" for a local server that needs no key',
    );
    const ok = client(s, { apiKey: "${SABUILD_TEST_KEY}", env: { ...env, SABUILD_TEAM: "red" }, cache: store, headers: { "x-team": "${SABUILD_TEAM}" } });
    await ok.complete(ask("secret stuff"));
    expect(s.stats.authorizations).toEqual([`Bearer ${key}`]);
    expect(s.stats.bodies).toHaveLength(1);
    // A server that quotes the key in an error does not get it into our message.
    s.inject({ count: 1, status: 400, message: `Key ${key} is not allowed to use this model` });
    const e = (await ok.complete(ask("again")).catch((x: unknown) => x)) as Error;
    expect(e.message).toContain("Key *** is not allowed");
    expect(e.message).not.toContain(key);
    expect(e.stack ?? "").not.toContain(key);
    for (const file of filesUnder(store)) expect(readFileSync(file, "utf8")).not.toContain(key);
    expect(filesUnder(store).length).toBeGreaterThan(0);
  });

  it("needs no key for a server on this machine, and a key for any other", async () => {
    const s = await serve();
    await client(s, { apiKey: "" }).complete(ask("local"));
    expect(s.stats.authorizations).toEqual([null]);
    expect(() => createChatClient({ baseUrl: "https://api.openai.com/v1", apiKey: "", model: "gpt-4.1" })).toThrow(
      /^teacher\.api_key: no API key for https:\/\/api\.openai\.com\/v1; a key may be left out only for a server on this machine/,
    );
    expect(() => createChatClient({ baseUrl: "https://openrouter.ai/api/v1", apiKey: "${OR_KEY}", env: { OR_KEY: "" }, model: "x" })).toThrow(
      /no API key for https:\/\/openrouter\.ai\/api\/v1 \(\$\{OR_KEY\} is empty\)/,
    );
    expect(() => createChatClient({ baseUrl: "${TEACHER_URL}", model: "x", env: {} })).toThrow(/^teacher\.base_url: environment variable TEACHER_URL is not set/);
  });

  it("warns once about a model without a price and counts it as $0", async () => {
    const s = await serve();
    const c = client(s, { model: "my-local-qwen" });
    const a = await c.complete(ask("a", { model: "my-local-qwen" }));
    await c.complete(ask("b", { model: "my-local-qwen" }));
    expect(a.costUsd).toBe(0);
    expect(c.warnings).toEqual(["no price known for model my-local-qwen: its cost counts as $0 (set teacher.pricing to price it)"]);
  });

  it("aggregates usage by subagent and stage in a shared meter", async () => {
    const s = await serve();
    const meter = new Meter();
    const c = client(s, { meter, label: { subagent: "tester", stage: "traces" } });
    await c.complete(ask("a"));
    await c.complete(ask("b"), { label: { subagent: "tester", stage: "tasks" } });
    await c.complete(ask("c"));
    const summary = meter.summary();
    expect(Object.keys(summary)).toEqual(["tester:tasks", "tester:traces"]);
    expect(summary["tester:traces"]!.requests).toBe(2);
    expect(summary["tester:tasks"]!.requests).toBe(1);
    expect(meter.total().cost_usd).toBeCloseTo(summary["tester:traces"]!.cost_usd + summary["tester:tasks"]!.cost_usd, 12);
  });
});

describe("teacher section of subagents.yaml", () => {
  it("configures the client: endpoint and key from the environment, pricing, limits", async () => {
    const s = await serve({ apiKey: "sk-from-env" });
    const text = [
      "version: 1",
      "defaults:",
      "  teacher:",
      '    base_url: "${TEACHER_URL}"',
      '    api_key: "${TEACHER_KEY}"',
      "    model: qwen-teacher",
      "    temperature: 0.3",
      "    max_tokens: 99",
      "    max_retries: 1",
      "    pricing: {input_per_mtok: 1000, output_per_mtok: 2000}",
      '    headers: {x-run: "${RUN_ID}"}',
      "subagents:",
      "  tester:",
      "    source: {inline: {description: d, prompt: p}}",
    ].join("\n");
    const parsed = parseConfig(text, "/project/subagents.yaml");
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const teacher = parsed.value.subagents[0]!.teacher;
    expect(teacher).toMatchObject({ max_retries: 1, timeout_s: 600, stream: false });
    const env = { TEACHER_URL: s.url, TEACHER_KEY: "sk-from-env", RUN_ID: "42" };
    const c = createChatClient(teacherClientOptions(teacher, { env, configKey: "subagents.tester.teacher", retry: { maxRetries: 1, baseDelayMs: 5 } }));
    const r = await c.complete({ model: "", messages: [{ role: "user", content: "hi" }] });
    expect(s.stats.bodies[0]).toMatchObject({ model: "qwen-teacher", temperature: 0.3, max_tokens: 99 });
    expect(s.stats.headers[0]).toMatchObject({ "x-run": "42", authorization: "Bearer sk-from-env" });
    expect(r.costUsd).toBeCloseTo((r.usage.prompt_tokens * 1000 + r.usage.completion_tokens * 2000) / 1e6, 12);
    s.inject({ count: 5, status: 500 });
    await expect(c.complete({ model: "", messages: [{ role: "user", content: "again" }] })).rejects.toThrow(/failed after 2 attempts: HTTP 500/);
  });
});

describe("pricing and retry parsing", () => {
  it("prices endpoint spellings of model names", () => {
    expect(builtinPricing("gpt-4o-mini-2024-07-18")).toEqual({ input_per_mtok: 0.15, output_per_mtok: 0.6 });
    expect(builtinPricing("openai/gpt-4o")).toEqual({ input_per_mtok: 2.5, output_per_mtok: 10 });
    expect(builtinPricing("anthropic/claude-sonnet-4.5")).toEqual({ input_per_mtok: 3, output_per_mtok: 15 });
    expect(builtinPricing("claude-sonnet-4-5-20250929")).toEqual({ input_per_mtok: 3, output_per_mtok: 15 });
    expect(builtinPricing("google/gemini-2.5-flash-lite")).toEqual({ input_per_mtok: 0.1, output_per_mtok: 0.4 });
    expect(builtinPricing("gpt-4o1")).toBeUndefined();
    expect(builtinPricing("qwen2.5-coder:7b")).toBeUndefined();
  });

  it("estimates a stage's cost before it runs", () => {
    const perCall = rolloutTokens({ turns: 4, initialPromptTokens: 2000, completionTokensPerTurn: 200, toolResultTokensPerTurn: 800 });
    // 4 x 2000 + 1000 x 4 x 3 / 2 = 14000 prompt tokens over 4 calls.
    expect(perCall).toEqual({ promptTokensPerCall: 3500, completionTokensPerCall: 200 });
    const estimate = estimateCost({ model: "gpt-4.1", calls: 400, ...perCall });
    expect(estimate).toEqual({ calls: 400, prompt_tokens: 1_400_000, completion_tokens: 80_000, usd: 2.8 + 0.64, priced: true });
    expect(estimateCost({ model: "local", calls: 10, promptTokensPerCall: 1, completionTokensPerCall: 1 })).toMatchObject({ usd: 0, priced: false });
  });

  it("reads Retry-After as seconds or an HTTP date, retry-after-ms first", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "2" }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ "retry-after": "0.5" }), now)).toBe(500);
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:07 GMT" }), now)).toBe(7000);
    expect(retryAfterMs(new Headers({ "retry-after": "2", "retry-after-ms": "150" }), now)).toBe(150);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
