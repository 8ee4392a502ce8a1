import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseConfig } from "../src/config/index.js";
import { tempDir } from "./helpers.js";
import { callTool, providerOf, sendJson, wireServer, webProject } from "./support/web.js";

/**
 * WebSearch against each provider's wire format, served on loopback: the request each provider
 * documents (path, query or body, auth header) and its response shape; domain filters; the
 * local provider over a docs folder; record and replay with the servers stopped.
 */

const KEY = "test-key-0123456789-not-a-real-one";

const HITS = [
  { title: "asyncio — Asynchronous I/O", url: "https://docs.python.org/3/library/asyncio.html", snippet: "asyncio is a library to write concurrent code" },
  { title: "Real Python: async IO", url: "https://realpython.com/async-io-python/", snippet: "A walkthrough of async IO in Python" },
];

describe("search providers", () => {
  let searx: Awaited<ReturnType<typeof wireServer>>;
  let brave: Awaited<ReturnType<typeof wireServer>>;
  let tavily: Awaited<ReturnType<typeof wireServer>>;
  let dir: string;

  beforeAll(async () => {
    process.env.SABUILD_TEST_SEARCH_KEY = KEY;
    dir = tempDir("sabuild-web-search-");
    searx = await wireServer((req, res) => {
      if (req.url.pathname !== "/search" || req.url.searchParams.get("format") !== "json") return sendJson(res, 403, { error: "format not allowed" });
      sendJson(res, 200, { query: req.url.searchParams.get("q"), number_of_results: 2, results: HITS.map((h) => ({ title: h.title, url: h.url, content: h.snippet, engine: "duckduckgo", score: 1 })), answers: [], suggestions: [] });
    });
    brave = await wireServer((req, res) => {
      if (req.headers["x-subscription-token"] !== KEY) return sendJson(res, 401, { type: "ErrorResponse", error: { code: "SUBSCRIPTION_TOKEN_INVALID" } });
      if (req.url.pathname !== "/res/v1/web/search") return sendJson(res, 404, {});
      sendJson(res, 200, { type: "search", query: { original: req.url.searchParams.get("q") }, web: { type: "search", results: HITS.map((h) => ({ type: "search_result", title: h.title, url: h.url, description: `<strong>asyncio</strong> ${h.snippet}` })) } });
    });
    tavily = await wireServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${KEY}`) return sendJson(res, 401, { detail: { error: "Unauthorized: missing or invalid API key." } });
      if (req.method !== "POST" || req.url.pathname !== "/search") return sendJson(res, 404, {});
      const body = JSON.parse(req.body) as { query: string };
      sendJson(res, 200, { query: body.query, answer: null, images: [], results: HITS.map((h) => ({ title: h.title, url: h.url, content: h.snippet, score: 0.9, raw_content: null })), response_time: 0.5 });
    });
  });

  afterAll(async () => {
    await Promise.all([searx.close(), brave.close(), tavily.close()]);
  });

  test("SearXNG: GET /search?format=json, results as title, URL and snippet", async () => {
    const web = providerOf(dir, { mode: "live", search: { provider: "searxng", base_url: searx.url } });
    const result = await callTool(web, "WebSearch", { query: "python asyncio", allowed_domains: ["docs.python.org"] });
    expect(result.isError, result.content).toBe(false);
    const seen = searx.seen.at(-1)!;
    expect(seen.method).toBe("GET");
    expect(seen.url.searchParams.get("q")).toBe("python asyncio site:docs.python.org");
    expect(result.content).toContain("1. asyncio — Asynchronous I/O\n   https://docs.python.org/3/library/asyncio.html\n   asyncio is a library");
    // The server ignored the site: operator; the filter still holds.
    expect(result.content).not.toContain("realpython.com");
  });

  test("Brave: X-Subscription-Token, count, web.results; highlights dropped; a bad key is a clear error", async () => {
    const web = providerOf(dir, { mode: "live", search: { provider: "brave", base_url: brave.url, api_key: "${SABUILD_TEST_SEARCH_KEY}", max_results: 5 } });
    const result = await callTool(web, "WebSearch", { query: "python asyncio", blocked_domains: ["https://docs.python.org/"] });
    expect(result.isError, result.content).toBe(false);
    expect(brave.seen.at(-1)!.url.searchParams.get("count")).toBe("5");
    expect(brave.seen.at(-1)!.url.searchParams.get("q")).toBe("python asyncio -site:docs.python.org");
    expect(result.content).toContain("https://realpython.com/async-io-python/\n   asyncio A walkthrough");
    expect(result.content).not.toContain("docs.python.org/3");

    process.env.SABUILD_TEST_SEARCH_KEY_WRONG = "nope";
    const wrong = providerOf(dir, { mode: "live", search: { provider: "brave", base_url: brave.url, api_key: "${SABUILD_TEST_SEARCH_KEY_WRONG}" } });
    const refused = await callTool(wrong, "WebSearch", { query: "python asyncio" });
    expect(refused.isError).toBe(true);
    expect(refused.content).toContain("Brave search answered HTTP 401");
    expect(refused.content).not.toContain("nope");
  });

  test("Tavily: POST /search with a bearer key and domain lists in the body", async () => {
    const web = providerOf(dir, { mode: "live", search: { provider: "tavily", base_url: tavily.url, api_key: "${SABUILD_TEST_SEARCH_KEY}", max_results: 3 } });
    const result = await callTool(web, "WebSearch", { query: "python asyncio", allowed_domains: ["realpython.com"] });
    expect(result.isError, result.content).toBe(false);
    const body = JSON.parse(tavily.seen.at(-1)!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ query: "python asyncio", max_results: 3, include_domains: ["realpython.com"] });
    expect(body).not.toHaveProperty("api_key");
    expect(result.content).toContain("1. Real Python: async IO");
    expect(result.content).not.toContain("docs.python.org");
  });

  test("an unset key variable names the variable and the config key", async () => {
    delete process.env.SABUILD_TEST_UNSET_KEY;
    const web = providerOf(dir, { mode: "live", search: { provider: "tavily", base_url: tavily.url, api_key: "${SABUILD_TEST_UNSET_KEY}" } });
    await expect(callTool(web, "WebSearch", { query: "python asyncio" })).rejects.toThrow(/subagents\.researcher\.web\.search\.api_key: environment variable SABUILD_TEST_UNSET_KEY is not set/);
  });

  test("record, then replay with every server stopped; a call never recorded fails the rollout clearly", async () => {
    const store = tempDir("sabuild-web-replay-");
    const settings = (mode: string) => ({ mode, search: { provider: "brave", base_url: brave.url, api_key: "${SABUILD_TEST_SEARCH_KEY}" } });
    writeFileSync(join(store, "subagents.yaml"), "");
    const recorded = await callTool(providerOf(store, settings("record")), "WebSearch", { query: "Python   asyncio" });
    const requests = brave.seen.length;
    // record mode reuses what it stored: the same query (normalised) asks nothing.
    const again = await callTool(providerOf(store, settings("record")), "WebSearch", { query: "python asyncio" });
    expect(brave.seen.length).toBe(requests);
    expect(again.content.split("\n").slice(1)).toEqual(recorded.content.split("\n").slice(1));

    await Promise.all([searx.close(), brave.close(), tavily.close()]);
    const replayed = await callTool(providerOf(store, settings("replay")), "WebSearch", { query: "Python   asyncio" });
    expect(replayed).toEqual(recorded);
    await expect(callTool(providerOf(store, settings("replay")), "WebSearch", { query: "rust tokio" })).rejects.toThrow(
      /subagents\.researcher\.web\.mode is replay and the store holds no recorded result for WebSearch "rust tokio" \(brave\)/,
    );
    // Options are part of the record's key: a domain filter never recorded is a miss too.
    await expect(callTool(providerOf(store, settings("replay")), "WebSearch", { query: "python asyncio", allowed_domains: ["docs.python.org"] })).rejects.toThrow(/no recorded result/);
  });
});

describe("local provider", () => {
  test("MiniSearch over a docs folder: the relevant page first, its URL under base_url, a snippet around the term", async () => {
    const dir = tempDir("sabuild-web-local-");
    mkdirSync(join(dir, "docs/library"), { recursive: true });
    writeFileSync(join(dir, "docs/library/asyncio.html"), "<html><head><title>asyncio — Asynchronous I/O</title></head><body><nav>Index Modules</nav><h1>asyncio</h1><p>asyncio is a library to write concurrent code using the async/await syntax.</p><script>var x = 'concurrent';</script></body></html>");
    writeFileSync(join(dir, "docs/library/json.html"), "<html><head><title>json — JSON encoder and decoder</title></head><body><p>JSON is a lightweight data interchange format.</p></body></html>");
    writeFileSync(join(dir, "docs/howto.md"), "# Sockets HOWTO\n\nSockets are used nearly everywhere, but are one of the most severely misunderstood technologies.\n");
    writeFileSync(join(dir, "docs/.hidden.md"), "# concurrent secrets\n");
    const web = providerOf(dir, { mode: "live", search: { provider: "local", root: "docs", base_url: "http://127.0.0.1:8080/python/" } });
    const result = await callTool(web, "WebSearch", { query: "concurrent code" });
    expect(result.isError, result.content).toBe(false);
    expect(result.content).toContain("1. asyncio — Asynchronous I/O\n   http://127.0.0.1:8080/python/library/asyncio.html\n   asyncio asyncio is a library to write concurrent code");
    expect(result.content).not.toContain("secrets");
    expect(result.content).not.toContain("var x");
    const sockets = await callTool(web, "WebSearch", { query: "sockets" });
    expect(sockets.content).toContain("1. Sockets HOWTO\n   http://127.0.0.1:8080/python/howto.md");
    const none = await callTool(web, "WebSearch", { query: "kubernetes operators" });
    expect(none.content).toContain("No results found.");
  });

  test("an edited page is a new search in record mode (the corpus digest is in the record key)", async () => {
    const dir = tempDir("sabuild-web-local-");
    mkdirSync(join(dir, "docs"));
    writeFileSync(join(dir, "docs/a.md"), "# Alpha\n\nThe frobnicator takes two arguments.\n");
    const web = () => providerOf(dir, { mode: "record", search: { provider: "local", root: "docs" } });
    const first = await callTool(web(), "WebSearch", { query: "frobnicator" });
    expect(first.content).toContain("two arguments");
    writeFileSync(join(dir, "docs/a.md"), "# Alpha\n\nThe frobnicator takes three arguments.\n");
    const second = await callTool(web(), "WebSearch", { query: "frobnicator" });
    expect(second.content).toContain("three arguments");
  });
});

describe("web settings", () => {
  test("a provider's required keys, and literal keys, are config problems", () => {
    expect(() => webProject(tempDir("sabuild-web-cfg-"), { search: { provider: "searxng" } })).toThrow(/missing key "base_url": provider searxng needs it/);
    expect(() => webProject(tempDir("sabuild-web-cfg-"), { search: { provider: "brave", api_key: "BSAabc123" } })).toThrow(/api_key must not be a literal key/);
    expect(() => webProject(tempDir("sabuild-web-cfg-"), { search: { provider: "local" } })).toThrow(/add root: docs/);
  });

  test("defaults.web is the project's; a subagent overrides it key by key", () => {
    const text = JSON.stringify({
      version: 1,
      defaults: { web: { mode: "replay", fetch: { allow: ["localhost"], max_bytes: 1000 }, search: { provider: "searxng", base_url: "http://127.0.0.1:8080" } } },
      subagents: {
        a: { source: { inline: { description: "d", prompt: "p" } } },
        b: { source: { inline: { description: "d", prompt: "p" } }, web: { fetch: { max_bytes: 2000 }, search: { provider: "local", root: "docs" } } },
      },
    });
    const parsed = parseConfig(text, join(tempDir("sabuild-web-cfg-"), "subagents.yaml"));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const [a, b] = parsed.value.subagents;
    expect(a!.web).toMatchObject({ mode: "replay", fetch: { allow: ["localhost"], max_bytes: 1000 }, search: { provider: "searxng" } });
    // Mappings merge key by key, search too (docs/web.md says so).
    expect(b!.web).toMatchObject({ mode: "replay", fetch: { allow: ["localhost"], max_bytes: 2000, timeout_ms: 30000 }, search: { provider: "local", root: "docs" } });
  });

  test("without a section, each tool says it is unavailable", async () => {
    const web = providerOf(tempDir("sabuild-web-none-"), { search: { provider: "local", root: "docs" } });
    const fetched = await callTool(web, "WebFetch", { url: "https://example.com/", prompt: "what is it?" });
    expect(fetched).toEqual({ isError: true, content: "<tool_use_error>WebFetch is unavailable: subagents.researcher.web.fetch is not configured. Work from the search results or the workspace instead.</tool_use_error>" });
  });
});
