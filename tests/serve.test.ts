import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type Gateway } from "../src/serve/gateway.js";
import { superviseServer } from "../src/serve/supervisor.js";
import { startStandin, type Standin } from "../src/standin/server.js";
import type { ChatRequest } from "../src/llm/types.js";

function lastUser(req: ChatRequest): string {
  return [...req.messages].reverse().find((m) => m.role === "user")?.content ?? "";
}

describe("gateway (OpenAI-compatible, student with teacher fallback)", () => {
  let student: Standin;
  let teacher: Standin;
  let gw: Gateway;
  let noFallback: Gateway;

  beforeAll(async () => {
    // The student: answers inside the contract unless asked to break it, to call a tool or to stall.
    student = await startStandin({
      policy: (req) => {
        const text = lastUser(req);
        if (/break/.test(text)) return { content: "I think it is in utils somewhere." };
        if (/tool/.test(text)) return { tool_calls: [{ name: "Grep", arguments: { pattern: "retry" } }] };
        return { content: `Found it. <final_answer>student: ${text}</final_answer>` };
      },
      latencyMs: (req) => (/stall/.test(lastUser(req)) ? 3000 : 0),
    });
    teacher = await startStandin({ policy: (req) => ({ content: `<final_answer>teacher: ${lastUser(req)}</final_answer>` }), apiKey: "sk-teacher-secret" });
    const teacherRoute = { baseUrl: teacher.url, apiKey: "sk-teacher-secret", model: "big-model", timeoutMs: 10_000, pricing: { input_per_mtok: 2, output_per_mtok: 8 } };
    gw = await startGateway({ students: [{ name: "searcher", baseUrl: student.url, model: "student", timeoutMs: 1000, contractTag: "final_answer" }], teacher: teacherRoute });
    noFallback = await startGateway({ students: [{ name: "searcher", baseUrl: student.url, model: "student", timeoutMs: 1000, contractTag: "final_answer" }], teacher: teacherRoute, fallbackOn: ["timeout"] });
  });

  afterAll(async () => {
    await Promise.all([gw?.close(), noFallback?.close(), student?.close(), teacher?.close()]);
  });

  const client = (g: Gateway): OpenAI => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "unused", maxRetries: 0 });

  it("routes subagent/<name> to the student and says who answered", async () => {
    const r = await client(gw).chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "where is retry" }] }).withResponse();
    expect(r.response.headers.get("x-sabuild-answered-by")).toBe("student");
    expect(r.data.model).toBe("subagent/searcher");
    expect(r.data.choices[0]!.message.content).toContain("student: where is retry");
    expect((r.data as unknown as { sabuild: { answered_by: string } }).sabuild.answered_by).toBe("student");
    // The student was asked for its own model name, not the route's.
    expect(student.stats.bodies.at(-1)!.model).toBe("student");
  });

  it("passes tool calls through without checking the contract (the turn is not final)", async () => {
    const r = await client(gw).chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "use a tool" }] });
    expect(r.choices[0]!.message.tool_calls?.[0]?.type).toBe("function");
    expect((r as unknown as { sabuild: { answered_by: string } }).sabuild.answered_by).toBe("student");
  });

  it("falls back to the teacher when the student breaks the contract, errors or times out", async () => {
    const before = teacher.stats.requests;
    const broken = await client(gw).chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "break it" }] }).withResponse();
    expect(broken.response.headers.get("x-sabuild-answered-by")).toBe("teacher");
    expect(broken.response.headers.get("x-sabuild-fallback")).toBe("contract");
    expect(broken.data.choices[0]!.message.content).toContain("teacher: break it");
    expect(teacher.stats.bodies.at(-1)!.model).toBe("big-model");
    expect(teacher.stats.authorizations.at(-1)).toBe("Bearer sk-teacher-secret");

    student.inject({ count: 1, status: 500 });
    const errored = await client(gw).chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "after a crash" }] }).withResponse();
    expect(errored.response.headers.get("x-sabuild-fallback")).toBe("error");

    const t0 = Date.now();
    const slow = await client(gw).chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "stall please" }] }).withResponse();
    expect(slow.response.headers.get("x-sabuild-fallback")).toBe("timeout");
    expect(Date.now() - t0).toBeLessThan(2900);
    expect(teacher.stats.requests - before).toBe(3);
  });

  it("answers 502 when fallback on that failure is off, and 404 for an unknown subagent", async () => {
    await expect(client(noFallback).chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "break it" }] })).resolves.toBeTruthy();
    student.inject({ count: 1, status: 500 });
    await expect(client(noFallback).chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ status: 502 });
    await expect(client(gw).chat.completions.create({ model: "subagent/nobody", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ status: 404 });
  });

  it("streams to clients that ask, and passes other models through to the teacher", async () => {
    const stream = await client(gw).chat.completions.create({ model: "subagent/searcher", stream: true, messages: [{ role: "user", content: "streamed" }] });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toContain("student: streamed");
    const other = await client(gw).chat.completions.create({ model: "big-model", messages: [{ role: "user", content: "direct" }] });
    expect(other.choices[0]!.message.content).toContain("teacher: direct");
    const models = await client(gw).models.list();
    expect(models.data.map((m) => m.id)).toEqual(["subagent/searcher", "big-model"]);
  });

  it("exposes Prometheus metrics: requests, fallbacks, tokens, latency histogram, money saved", async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/# TYPE sabuild_gateway_requests_total counter/);
    expect(text).toMatch(/sabuild_gateway_requests_total\{answered_by="student",route="searcher"\} [1-9]/);
    expect(text).toMatch(/sabuild_gateway_fallbacks_total\{reason="contract",route="searcher"\} 1/);
    expect(text).toMatch(/sabuild_gateway_fallbacks_total\{reason="timeout",route="searcher"\} 1/);
    expect(text).toMatch(/sabuild_gateway_tokens_total\{answered_by="student",kind="completion",route="searcher"\} [1-9]/);
    expect(text).toMatch(/sabuild_gateway_request_duration_seconds_bucket\{le="\+Inf",route="searcher"\} [1-9]/);
    const saved = Number(/sabuild_gateway_saved_usd_total\{route="searcher"\} ([\d.e-]+)/.exec(text)?.[1]);
    expect(saved).toBeGreaterThan(0);
    expect(text).not.toContain("sk-teacher-secret");
  });
});

describe("the model server supervisor", () => {
  it("restarts a server that fails its health check, one start at a time, and none outlives stop()", async () => {
    let healthy = true;
    const health = createServer((_req, res) => {
      res.statusCode = healthy ? 200 : 503;
      res.end();
    });
    await new Promise<void>((r) => health.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
    const started: { url: string; stopped: boolean; stop(): Promise<void> }[] = [];
    // Each restart loads for 300 ms: many health checks fail meanwhile.
    const start = async (): Promise<(typeof started)[number]> => {
      if (started.length) await new Promise((r) => setTimeout(r, 300));
      const server = { url, stopped: false, stop: async () => void (server.stopped = true) };
      started.push(server);
      return server;
    };
    const lines: string[] = [];
    const supervised = await superviseServer(start, { name: "searcher", log: (l) => lines.push(l), restarted: () => undefined, intervalMs: 20 });
    try {
      healthy = false;
      await new Promise((r) => setTimeout(r, 150));
      // stop() while the restarted server still loads: it is stopped as soon as it is up.
      await supervised.stop();
      await new Promise((r) => setTimeout(r, 400));
      expect(started.length).toBe(2);
      expect(started.map((s) => s.stopped)).toEqual([true, true]);
      expect(lines).toEqual([expect.stringMatching(/^warning: searcher's model server failed its health check \(HTTP 503\): restarting it$/)]);
    } finally {
      health.close();
    }
  });
});
