import { execFileSync } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../src/serve/gateway.js";
import { startStandin, type Standin } from "../src/standin/server.js";
import type { ChatRequest } from "../src/llm/types.js";
import { openRecorder } from "../src/traffic/record.js";
import { readTraffic } from "../src/traffic/read.js";
import { trafficFiles } from "../src/traffic/log.js";
import { recordingTools } from "../src/traffic/mcp-tools.js";
import { createMcpServer, mcpToolName } from "../src/serve/mcp.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Trace } from "../src/traces/types.js";
import { makeProject, sabuild, sabuildJson, tempDir } from "./helpers.js";

/**
 * serve.record end to end: the gateway with a stand-in student and teacher, a real OpenAI client,
 * the recorder writing into a project's store; then `sabuild traffic` and the tasks stage reading
 * what was recorded. The canary: a key the client sends never reaches the store.
 */

const CANARY_KEY = "sk-canary-0f1e2d3c4b5a69788796a5b4";
const CANARY_HEADER = "canary-header-7c1d2e3f";
const EMAIL = "jane.doe@example.com";
const ACCOUNT = "ACCT-55531";

function lastUser(req: ChatRequest): string {
  return [...req.messages].reverse().find((m) => m.role === "user")?.content ?? "";
}

/** Every file under dir whose bytes hold the text. */
function filesHolding(dir: string, text: string): string[] {
  try {
    return execFileSync("grep", ["-rlF", "--", text, dir], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch (e) {
    if ((e as { status?: number }).status === 1) return [];
    throw e;
  }
}

const CONFIG = (extra: string[] = []): string =>
  [
    "version: 1",
    "serve:",
    "  record: true",
    `  redact: ["ACCT-\\\\d+"]`,
    ...extra,
    "subagents:",
    "  searcher:",
    "    until: tasks",
    "    source:",
    "      inline:",
    "        description: Finds code",
    "        prompt: You find code.",
    "    tasks:",
    "      seed: [find the retry helper in the http client]",
    "      count: 1",
    "      holdout: 0",
    "      from_recorded: true",
    "",
  ].join("\n");

describe("serve.record through the gateway", () => {
  let student: Standin;
  let teacher: Standin;
  let gw: Gateway;
  let dir: string;
  let store: string;
  let recorder: ReturnType<typeof openRecorder>;

  beforeAll(async () => {
    dir = makeProject({ "subagents.yaml": CONFIG() });
    store = join(dir, "cache");
    student = await startStandin({
      policy: (req) => (/break/.test(lastUser(req)) ? { content: "somewhere in utils" } : { content: `<final_answer>student: ${lastUser(req)}</final_answer>` }),
    });
    teacher = await startStandin({ policy: (req) => ({ content: `<final_answer>teacher: ${lastUser(req)}</final_answer>` }), apiKey: "sk-teacher-secret-123456" });
    recorder = openRecorder({ store, serve: { record: true, redact: [String.raw`ACCT-\d+`], max_bytes: 50_000_000, keep: 5 } }, () => undefined);
    gw = await startGateway({
      students: [{ name: "searcher", baseUrl: student.url, model: "student", timeoutMs: 5000, contractTag: "final_answer" }],
      teacher: { baseUrl: teacher.url, apiKey: "sk-teacher-secret-123456", model: "big", timeoutMs: 5000 },
      onDelegation: (d) => recorder.gateway(d),
    });
  });

  afterAll(async () => {
    await Promise.all([gw?.close(), student?.close(), teacher?.close()]);
  });

  it("records who answered and why, tokens and latency; the client's key, headers and redacted text never reach the store", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CANARY_KEY, maxRetries: 0, defaultHeaders: { "x-api-key": CANARY_HEADER } });
    await client.chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "where is the retry helper" }] });
    await client.chat.completions.create({
      model: "subagent/searcher",
      messages: [{ role: "user", content: `break: mail ${EMAIL} about ${ACCOUNT}, my key is ${CANARY_KEY}` }],
    });
    // Not a delegation: other models pass through and are not recorded.
    await client.chat.completions.create({ model: "big", messages: [{ role: "user", content: "hello" }] });
    await recorder.flush();

    const { records, skipped } = await readTraffic(store, "searcher");
    expect(skipped).toEqual([]);
    expect(records.map((r) => [r.record.answered_by, r.record.route_reason])).toEqual([
      ["student", "student"],
      ["teacher", "contract"],
    ]);
    const [first, second] = records.map((r) => r.record);
    expect(first).toMatchObject({ subagent: "searcher", mode: "gateway", prompt: "where is the retry helper", answer: "<final_answer>student: where is the retry helper</final_answer>" });
    expect(first!.tokens.completion).toBeGreaterThan(0);
    expect(first!.latency_ms).toBeGreaterThanOrEqual(0);
    expect(second!.detail).toMatch(/final_answer/);
    expect(second!.prompt).toBe("break: mail [redacted] about [redacted], my key is [redacted]");
    expect(second!.answer).toContain("[redacted]");

    // The canary: nothing under the project (store, logs, config cache aside) holds the secrets.
    for (const secret of [CANARY_KEY, CANARY_HEADER, EMAIL, ACCOUNT, "sk-teacher-secret-123456"]) expect(filesHolding(dir, secret), secret).toEqual([]);
    const log = trafficFiles(store, "searcher")[0]!;
    expect(statSync(log).mode & 0o777).toBe(0o600);
  });

  it("traffic ls, stats and export, each with --json", () => {
    const ls = sabuildJson<{ records: { answered_by: string; route_reason: string; prompt: string }[] }>(dir, ["traffic", "ls"]);
    expect(ls.__code).toBe(0);
    expect(ls.records.map((r) => r.route_reason)).toEqual(["student", "contract"]);
    expect(sabuildJson<{ records: unknown[] }>(dir, ["traffic", "ls", "--escalated"]).records).toHaveLength(1);
    const human = sabuild(dir, ["traffic", "ls"]);
    expect(human.stdout).toMatch(/searcher {2}teacher \(contract\) .* break: mail \[redacted\]/);

    const stats = sabuildJson<{ subagents: { subagent: string; delegations: number; escalations: { rate: number; by_reason: Record<string, number> }; files: number }[] }>(dir, ["traffic", "stats"]);
    expect(stats.subagents[0]).toMatchObject({ subagent: "searcher", delegations: 2, escalations: { rate: 0.5, by_reason: { contract: 1 } }, files: 1 });
    expect(sabuild(dir, ["traffic", "stats"]).stdout).toContain("searcher: 2 delegations");

    const out = join(tempDir("sabuild-export-"), "tasks.jsonl");
    const exported = sabuildJson<{ lines: number }>(dir, ["traffic", "export", "--as", "tasks", "--out", out]);
    expect(exported.lines).toBe(2);
    expect(readFileSync(out, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).prompt)).toContain("where is the retry helper");
    expect(sabuild(dir, ["traffic", "export"]).stdout.split("\n").filter(Boolean)).toHaveLength(2);
    expect(sabuildJson<{ lines: { answered_by: string }[] }>(dir, ["traffic", "export"]).lines.map((r) => r.answered_by)).toEqual(["student", "teacher"]);

    const bad = sabuild(dir, ["traffic", "ls", "nobody"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no subagent "nobody"/);
    expect(sabuild(dir, ["traffic", "export", "--as", "csv"]).stderr).toMatch(/--as: "csv" is not one of records, tasks/);
  });

  it("tasks.from_recorded: recorded prompts become tasks, near-duplicates dropped; new traffic makes the tasks stale, the same traffic does not", async () => {
    expect(sabuild(dir, ["build", "searcher:tasks"]).code).toBe(0);
    const tree = sabuildJson<{ tree: string }>(dir, ["artifacts", "searcher:tasks"]).tree;
    const tasks = readFileSync(join(tree, "tasks.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; prompt: string; tags: string[]; origin: string });
    expect(tasks.map((t) => t.prompt)).toEqual(["find the retry helper in the http client", "where is the retry helper", "break: mail [redacted] about [redacted], my key is [redacted]"]);
    expect(tasks[1]).toMatchObject({ tags: ["recorded"], origin: expect.stringMatching(/^traffic:/) });
    const status = () => sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"]).stages.find((s) => s.id === "searcher:tasks")!.status;
    expect(status()).toBe("up-to-date");

    // A near-duplicate of a task already there, then a new prompt.
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    await client.chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "Where is the retry helper?" }] });
    await recorder.flush();
    expect(status()).toBe("will-run");
    expect(sabuild(dir, ["build", "searcher:tasks"]).code).toBe(0);
    const summary = JSON.parse(readFileSync(join(sabuildJson<{ tree: string }>(dir, ["artifacts", "searcher:tasks"]).tree, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ total: 3, recorded: 2, recorded_duplicates: 1 });
    expect(status()).toBe("up-to-date");
  });
});

describe("a delegation no model answered", () => {
  it("is recorded as answered by none, and its prompt still becomes a task", async () => {
    const dir = makeProject({ "subagents.yaml": CONFIG() });
    const store = join(dir, "cache");
    const recorder = openRecorder({ store, serve: { record: true, redact: [], max_bytes: 50_000_000, keep: 5 } }, () => undefined);
    // Nothing listens on port 9, and fallback is only on timeouts: the client gets a 502.
    const gw = await startGateway({ students: [{ name: "searcher", baseUrl: "http://127.0.0.1:9/v1", model: "student", timeoutMs: 5000, contractTag: "final_answer" }], fallbackOn: ["timeout"], onDelegation: (d) => recorder.gateway(d) });
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
      await expect(client.chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "list the flaky tests" }] })).rejects.toThrow(/502/);
      await recorder.flush();
      const [only] = (await readTraffic(store, "searcher")).records.map((r) => r.record);
      expect(only).toMatchObject({ answered_by: "none", route_reason: "failed", prompt: "list the flaky tests", answer: "" });
      expect(only!.reply).toBeUndefined();
      expect(sabuildJson<{ subagents: { by_answerer: Record<string, number> }[] }>(dir, ["traffic", "stats"]).subagents[0]!.by_answerer).toEqual({ student: 0, teacher: 0, none: 1 });
      expect(sabuild(dir, ["build", "searcher:tasks"]).code).toBe(0);
      const tree = sabuildJson<{ tree: string }>(dir, ["artifacts", "searcher:tasks"]).tree;
      expect(readFileSync(join(tree, "tasks.jsonl"), "utf8")).toContain("list the flaky tests");
    } finally {
      await gw.close();
    }
  });
});

describe("serve.record through the MCP server", () => {
  it("records the whole trace of the model that answered and why it answered, redacted, through a real MCP client", async () => {
    const store = tempDir("sabuild-traffic-mcp-");
    const recorder = openRecorder({ store, serve: { record: true, redact: [], max_bytes: 50_000_000, keep: 5 } }, () => undefined);
    const teacherTrace = (prompt: string): Trace => ({
      version: 1, subagent: "searcher", task: { id: "mcp", prompt, tags: [] }, sample: 0,
      model: { name: "big", base_url: "http://127.0.0.1:1/v1", role: "teacher" }, status: "completed", final_answer: "in retry.ts",
      contract: { tag: "final_answer", ok: true },
      messages: [{ role: "system", content: "You find code." }, { role: "user", content: prompt }, { role: "assistant", content: "<final_answer>in retry.ts</final_answer>" }],
      tools: [], turns: 1, tool_calls: 0, tool_errors: 0,
      usage: { prompt_tokens: 30, completion_tokens: 7, requests: 1, cached_requests: 0, cost_usd: 0 },
      timings: { started_at: "2026-01-01T00:00:00.000Z", duration_ms: 3, model_ms: 3, tool_ms: 0 },
      sandbox: { recipe: "shell", id: "sha256:0", tag: "sabuild/shell:0" },
    });
    // As mcp-run.ts answers when the student hit its turn cap and the teacher took over.
    const tool = { name: "searcher", description: "Finds code", run: async (prompt: string) => ({ answer: "in retry.ts", answeredBy: "teacher", status: "completed", turns: 1, toolCalls: 0, trace: teacherTrace(prompt), reason: "turn_cap", detail: "10 turns" }) };
    const server = createMcpServer(recordingTools([tool], recorder));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: "test", version: "1" });
    await client.connect(clientSide);
    const r = await client.callTool({ name: mcpToolName("searcher"), arguments: { prompt: `where is retry? mail ${EMAIL}` } });
    expect((r.content as { text: string }[])[0]!.text).toBe("in retry.ts");
    await client.close();
    await recorder.flush();
    const [only] = (await readTraffic(store, "searcher")).records.map((x) => x.record);
    expect(only).toMatchObject({ mode: "mcp", answered_by: "teacher", route_reason: "turn_cap", detail: "10 turns", prompt: "where is retry? mail [redacted]", tokens: { prompt: 30, completion: 7 } });
    expect(only!.trace!.messages[1]!.content).toBe("where is retry? mail [redacted]");
    expect(filesHolding(store, EMAIL)).toEqual([]);
  });
});

describe("the traffic log", () => {
  it("rotates at serve.max_bytes and keeps serve.keep old logs; a torn last line is skipped, not fatal", async () => {
    const store = tempDir("sabuild-traffic-");
    const recorder = openRecorder({ store, serve: { record: true, redact: [], max_bytes: 1500, keep: 2 } }, () => undefined);
    for (let i = 0; i < 30; i++) recorder.mcp({ subagent: "s", prompt: `task ${i} ${"x".repeat(100)}`, answer: "done", answeredBy: "student", reason: "student", ms: 1 });
    await recorder.flush();
    const names = readdirSync(join(store, "traffic", "s")).sort();
    expect(names).toHaveLength(3);
    expect(names.at(-1)).toBe("current.jsonl");
    expect(names.slice(0, 2).every((n) => /^\d{6}\.jsonl$/.test(n))).toBe(true);
    for (const n of names) expect(statSync(join(store, "traffic", "s", n)).size).toBeLessThanOrEqual(1500);
    const before = await readTraffic(store, "s");
    // The last records survive, in order.
    expect(before.records.at(-1)!.record.prompt).toMatch(/^task 29 /);
    appendFileSync(join(store, "traffic", "s", "current.jsonl"), '{"v":1,"id":"cut');
    const after = await readTraffic(store, "s");
    expect(after.records).toHaveLength(before.records.length);
    expect(after.skipped).toEqual([{ origin: "traffic/s/current.jsonl:" + (readFileSync(join(store, "traffic", "s", "current.jsonl"), "utf8").split("\n").length), why: expect.stringMatching(/not JSON/) }]);
  });

  it("a bad serve.redact pattern is a config error naming its key", () => {
    const dir = makeProject({ "subagents.yaml": CONFIG().replace(`redact: ["ACCT-\\\\d+"]`, `redact: ["(unclosed"]`) });
    const r = sabuild(dir, ["plan"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/subagents\.yaml:4:\d+.*not a regular expression/);
  });
});
