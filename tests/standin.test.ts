import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoPolicy, startStandin, type Standin } from "../src/standin/index.js";
import { exited, REPO, sabuild, spawnSabuild, tempDir, waitFor } from "./helpers.js";

let standin: Standin;
beforeAll(async () => {
  standin = await startStandin({ policy: echoPolicy, models: ["standin", "teacher-x"] });
});
afterAll(() => standin.close());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${standin.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

describe("stand-in server", () => {
  it("answers chat completions in OpenAI's shape, marked as a stand-in", async () => {
    const res = await post({ model: "teacher-x", messages: [{ role: "user", content: "hello there" }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sabuild-standin")).toBe("1");
    const body = (await res.json()) as any;
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "teacher-x",
      system_fingerprint: "sabuild-standin",
      choices: [{ index: 0, message: { role: "assistant", content: "echo: hello there" }, finish_reason: "stop" }],
    });
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBe(Math.ceil("echo: hello there".length / 4));
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it("lists models and answers unknown routes and bad bodies with OpenAI-shaped errors", async () => {
    const models = (await (await fetch(`${standin.url}/models`)).json()) as any;
    expect(models.data.map((m: any) => m.id)).toEqual(["standin", "teacher-x"]);
    const missing = await fetch(`${standin.url}/completions`, { method: "POST" });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe("unknown_url");
    const bad = await fetch(`${standin.url}/chat/completions`, { method: "POST", body: "{not json" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.type).toBe("invalid_request_error");
    const noMessages = await post({ model: "m", messages: [] });
    expect(noMessages.status).toBe(400);
    expect(((await noMessages.json()) as any).error.message).toMatch(/messages/);
  });

  it("injects faults: 429 with Retry-After, 500, dropped connections", async () => {
    const s = await startStandin({ policy: echoPolicy, faults: [{ count: 1, status: 429, retryAfter: 7 }] });
    s.inject({ count: 1, status: 503, retryAfterMs: 250 });
    s.inject({ count: 1, drop: true });
    const body = { model: "m", messages: [{ role: "user", content: "x" }] };
    const send = () => fetch(`${s.url}/chat/completions`, { method: "POST", body: JSON.stringify(body) });
    const first = await send();
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("7");
    expect(((await first.json()) as any).error.type).toBe("rate_limit_exceeded");
    const second = await send();
    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after-ms")).toBe("250");
    await expect(send()).rejects.toThrow();
    expect((await send()).status).toBe(200);
    expect(s.stats.requests).toBe(4);
    expect(s.stats.completed).toBe(1);
    expect(s.stats.statuses).toMatchObject({ 429: 1, 503: 1, 200: 1 });
    await s.close();
  });

  it("checks the API key when given one", async () => {
    const s = await startStandin({ policy: echoPolicy, apiKey: "sk-standin-secret" });
    const body = { model: "m", messages: [{ role: "user", content: "x" }] };
    const wrong = await fetch(`${s.url}/chat/completions`, { method: "POST", body: JSON.stringify(body), headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as any).error.code).toBe("invalid_api_key");
    const right = await fetch(`${s.url}/chat/completions`, { method: "POST", body: JSON.stringify(body), headers: { authorization: "Bearer sk-standin-secret" } });
    expect(right.status).toBe(200);
    await s.close();
  });

  it("is parsed by the openai package, plain and streamed, with tool calls and reasoning", async () => {
    const s = await startStandin({ policy: echoPolicy, reasoningField: "reasoning" });
    const openai = new OpenAI({ baseURL: s.url, apiKey: "k", maxRetries: 0 });
    const tools = [{ type: "function" as const, function: { name: "Bash", parameters: { type: "object" } } }];
    const plain = await openai.chat.completions.create({ model: "m", tools, messages: [{ role: "user", content: '/tool Bash {"command": "ls -la /tmp"}' }] });
    expect(plain.choices[0]!.finish_reason).toBe("tool_calls");
    const call = plain.choices[0]!.message.tool_calls![0]! as any;
    expect(call.function).toEqual({ name: "Bash", arguments: '{"command": "ls -la /tmp"}' });

    const stream = await openai.chat.completions.create({
      model: "m",
      tools,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: '/tool Bash {"command": "echo a long enough command to split"}' }],
    });
    let args = "";
    let name = "";
    let id = "";
    let finish = "";
    let usage: any;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices[0]?.delta;
      for (const tc of delta?.tool_calls ?? []) {
        if (tc.id) id = tc.id;
        if (tc.function?.name) name = tc.function.name;
        args += tc.function?.arguments ?? "";
      }
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    }
    expect(chunks).toBeGreaterThan(4);
    expect({ name, finish }).toEqual({ name: "Bash", finish: "tool_calls" });
    expect(id).toMatch(/^call_/);
    expect(JSON.parse(args)).toEqual({ command: "echo a long enough command to split" });
    expect(usage.completion_tokens).toBeGreaterThan(0);

    // The SDK's stream helper accumulates the same chunks into a message (it keeps only the
    // last piece of fields it does not know, such as reasoning: so collect those by hand).
    const runner = openai.chat.completions.stream({ model: "m", messages: [{ role: "user", content: "/think weigh the options carefully" }] });
    let reasoning = "";
    runner.on("chunk", (chunk) => (reasoning += (chunk.choices[0]?.delta as any)?.reasoning ?? ""));
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe("ok");
    expect(reasoning).toBe("weigh the options carefully");
    await s.close();
  });

  it("counts requests in flight and applies latency", async () => {
    const s = await startStandin({ policy: echoPolicy, latencyMs: 150 });
    const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }] });
    const started = performance.now();
    await Promise.all([1, 2, 3].map(() => fetch(`${s.url}/chat/completions`, { method: "POST", body })));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(s.stats.maxInFlight).toBe(3);
    expect(s.stats.inFlight).toBe(0);
    await s.close();
  });

  it("runs from the command line with a policy module", async () => {
    const dir = tempDir("sabuild-standin-");
    const policy = join(dir, "policy.mjs");
    writeFileSync(policy, 'export default (req) => ({ content: "scripted " + req.messages.length });\n');
    const child = spawn(process.execPath, [join(REPO, "dist/standin/main.js"), "--policy", policy, "--port", "0"]);
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("exit", (code) => reject(new Error(`exited ${code}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const res = await fetch(`${url}/chat/completions`, { method: "POST", body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }] }) });
    expect(((await res.json()) as any).choices[0].message.content).toBe("scripted 2");
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);

    const bad = sabuild(dir, ["standin", "--policy", "missing.mjs"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: cannot load policy module missing\.mjs/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(sabuild(dir, ["standin", "--port", "http"]).stderr).toBe("error: --port must be an integer from 0 to 65535\n");

    // The same server as a sabuild command.
    const viaCli = spawnSabuild(dir, ["standin", "--model", "teacher-x"]);
    await waitFor(() => viaCli.output().includes("/v1\n"), 20_000, "the stand-in's URL");
    const cliUrl = viaCli.output().split("\n")[0]!;
    const models = (await (await fetch(`${cliUrl}/models`)).json()) as any;
    expect(models.data.map((m: any) => m.id)).toEqual(["teacher-x"]);
    viaCli.kill("SIGINT");
    expect(await exited(viaCli)).toBe(0);
  });

  it("speaks Anthropic's Messages API with --messages, as Claude Code talks (the URL is ANTHROPIC_BASE_URL's, without /v1)", async () => {
    const dir = tempDir("sabuild-standin-");
    const viaCli = spawnSabuild(dir, ["standin", "--messages"]);
    await waitFor(() => /^http:\/\/127\.0\.0\.1:\d+\n/.test(viaCli.output()), 20_000, "the stand-in's URL");
    const url = viaCli.output().split("\n")[0]!;
    const body = { model: "claude-x", max_tokens: 100, messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }] };
    const res = await fetch(`${url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "any" }, body: JSON.stringify(body) });
    expect(res.headers.get("x-sabuild-standin")).toBe("1");
    expect(await res.json()).toMatchObject({ type: "message", role: "assistant", model: "claude-x", content: [{ type: "text", text: "echo: hello" }], stop_reason: "end_turn", usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) } });
    const missing = await fetch(`${url}/v1/complete`, { method: "POST" });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    viaCli.kill("SIGINT");
    expect(await exited(viaCli)).toBe(0);
  });

  it("answers a Messages policy's tool call as a tool_use block, plain and streamed", async () => {
    const { startMessagesStandin } = await import("../src/standin/index.js");
    const s = await startMessagesStandin({ policy: () => ({ content: "Looking.", tool_calls: [{ name: "Bash", arguments: { command: "ls" }, id: "toolu_1" }] }) });
    const body = { model: "m", max_tokens: 10, messages: [{ role: "user", content: "go" }] };
    const plain = (await (await fetch(`${s.url}/v1/messages`, { method: "POST", body: JSON.stringify(body) })).json()) as any;
    expect(plain.content).toEqual([
      { type: "text", text: "Looking." },
      { type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls" } },
    ]);
    expect(plain.stop_reason).toBe("tool_use");
    const streamed = await (await fetch(`${s.url}/v1/messages?beta=true`, { method: "POST", body: JSON.stringify({ ...body, stream: true }) })).text();
    const data = [...streamed.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
    const json = data.filter((d) => d.delta?.type === "input_json_delta").map((d) => d.delta.partial_json).join("");
    expect(JSON.parse(json)).toEqual({ command: "ls" });
    expect(data.find((d) => d.type === "content_block_start" && d.index === 1).content_block).toMatchObject({ type: "tool_use", id: "toolu_1", name: "Bash" });
    expect(data.at(-1)).toEqual({ type: "message_stop" });
    expect(s.bodies).toHaveLength(2);
    await s.close();
  });
});
