import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, describe, expect, it } from "vitest";
import { readCliReport } from "../src/bench/cli/report.js";
import { serveItemSockets } from "../src/bench/cli/sockets.js";
import { startMessagesStandin } from "../src/standin/messages.js";

/**
 * A CLI orchestrator's plumbing without Docker: the JSON it prints (Claude Code's stream, or the
 * smaller contract of docs/benchmarks.md), and the sockets its container reaches the model and
 * sabuild's MCP server through, driven from this host as the container would drive them.
 */

const line = (o: unknown) => JSON.stringify(o);

describe("readCliReport", () => {
  it("reads Claude Code's stream-json: one message per response id, its tool calls, and the result's figures", () => {
    const out = [
      line({ type: "system", subtype: "init", tools: ["Bash"] }),
      line({ type: "assistant", message: { id: "m1", content: [{ type: "text", text: "Let me look." }] }, parent_tool_use_id: null }),
      line({ type: "assistant", message: { id: "m1", content: [{ type: "tool_use", id: "t1", name: "Bash", input: { command: "ls" } }] }, parent_tool_use_id: null }),
      line({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "a.py" }] }, parent_tool_use_id: null }),
      // A subagent's own turn (Claude Code's Task tool): not the main agent's.
      line({ type: "assistant", message: { id: "s1", content: [{ type: "tool_use", id: "t9", name: "Read", input: {} }] }, parent_tool_use_id: "t0" }),
      line({ type: "assistant", message: { id: "m2", content: [{ type: "tool_use", id: "t2", name: "mcp__sabuild__subagent_runner", input: { prompt: "run the tests" } }] }, parent_tool_use_id: null }),
      line({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t2", content: [{ type: "text", text: "2 passed" }] }] }, parent_tool_use_id: null }),
      line({ type: "assistant", message: { id: "m3", content: [{ type: "text", text: "Done." }] }, parent_tool_use_id: null }),
      line({
        type: "result",
        subtype: "success",
        is_error: false,
        result: "Done.",
        num_turns: 3,
        total_cost_usd: 0.0123,
        duration_api_ms: 900,
        usage: { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 5, cache_read_input_tokens: 1000 },
        modelUsage: { "claude-sonnet-4-5": { inputTokens: 100, outputTokens: 20, costUSD: 0.0123 } },
      }),
    ].join("\n");
    const r = readCliReport(out);
    if (!r.ok) throw new Error(r.error);
    expect(r.value).toMatchObject({
      subtype: "success",
      is_error: false,
      result: "Done.",
      num_turns: 3,
      model_calls: 3,
      total_cost_usd: 0.0123,
      usage: { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 5, cache_read_input_tokens: 1000 },
      tool_calls_by_tool: { Bash: 1, mcp__sabuild__subagent_runner: 1 },
    });
    expect(r.value.messages.map((m) => [m.role, m.content, m.tool_calls?.map((c) => c.function.name)])).toEqual([
      ["assistant", "Let me look.", ["Bash"]],
      ["tool", "a.py", undefined],
      ["assistant", null, ["mcp__sabuild__subagent_runner"]],
      ["tool", "2 passed", undefined],
      ["assistant", "Done.", undefined],
    ]);
  });

  it("reads the minimal contract another CLI may print: one JSON line with usage and tool-call counts, after any other output", () => {
    const r = readCliReport(`working...\n${line({ usage: { input_tokens: 40, output_tokens: 8 }, num_turns: 2, model_calls: 2, tool_calls: { Bash: 3 }, result: "fixed" })}\n`);
    if (!r.ok) throw new Error(r.error);
    expect(r.value).toMatchObject({ is_error: false, num_turns: 2, model_calls: 2, tool_calls_by_tool: { Bash: 3 }, result: "fixed", messages: [] });
    expect(r.value.total_cost_usd).toBeUndefined();
  });

  it("says what is missing when there is no result or its usage is incomplete", () => {
    expect(readCliReport("hello\n")).toEqual({ ok: false, error: expect.stringMatching(/no JSON result/) });
    expect(readCliReport(line({ type: "result", usage: { input_tokens: 3 } }))).toEqual({ ok: false, error: expect.stringMatching(/input_tokens and output_tokens/) });
  });
});

describe("the item's sockets", () => {
  const dirs: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** POSTs through the model socket as the in-container forwarder would. */
  const post = (socketPath: string, path: string, headers: Record<string, string>, body: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ socketPath, path, method: "POST", headers: { "content-type": "application/json", ...headers } }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });

  it("proxies to the model endpoint with the real key put on here; the container's placeholder never arrives", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const upstream = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise<void>((r) => upstream.close(() => r())));
    const dir = mkdtempSync(join(tmpdir(), "sabuild-sock-"));
    dirs.push(dir);
    const sockets = await serveItemSockets({ dir, upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, apiKey: "sk-real-secret", subagents: [] });
    closers.unshift(() => sockets.close());
    expect(sockets.baseUrl).toBe("http://127.0.0.1:8080/v1");
    expect(sockets.mcpConfig).toBeUndefined();
    const a = await post(join(dir, "model.sock"), "/v1/messages?beta=true", { "x-api-key": "sabuild-proxy" }, {});
    const b = await post(join(dir, "model.sock"), "/v1/chat/completions", { authorization: "Bearer sabuild-proxy" }, {});
    expect([a, b].map((r) => [r.status, JSON.parse(r.text).path])).toEqual([
      [200, "/v1/messages?beta=true"],
      [200, "/v1/chat/completions"],
    ]);
    expect(seen[0]!["x-api-key"]).toBe("sk-real-secret");
    expect(seen[1]!.authorization).toBe("Bearer sk-real-secret");
  });

  it("streams the Messages stand-in's events through, and serves the offered subagents over MCP through the bridge's stdio mode", async () => {
    const standin = await startMessagesStandin({ policy: () => ({ tool_calls: [{ name: "Bash", arguments: { command: "ls" } }] }) });
    closers.push(() => standin.close());
    const dir = mkdtempSync(join(tmpdir(), "sabuild-sock-"));
    dirs.push(dir);
    const asked: string[] = [];
    const sockets = await serveItemSockets({
      dir,
      upstream: standin.url,
      apiKey: "",
      subagents: [{ name: "runner", description: "Runs commands", about: "Same words in every arm.", run: async (prompt) => (asked.push(prompt), { answer: "42", answeredBy: "subagent", status: "completed", turns: 2, toolCalls: 1 }) }],
    });
    closers.unshift(() => sockets.close());
    const streamed = await post(join(dir, "model.sock"), "/v1/messages", {}, { model: "m", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hi" }] });
    const events = [...streamed.text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events).toEqual(["message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(streamed.text).toContain('"stop_reason":"tool_use"');

    // The MCP config names the in-container paths; here the same bridge runs on the host against the socket.
    expect(sockets.mcpConfig).toBe("/opt/sabuild/item/mcp.json");
    const client = new Client({ name: "test", version: "1" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [join(dir, "bridge.mjs"), "stdio", join(dir, "mcp.sock")] }));
    closers.unshift(() => client.close());
    const tools = await client.listTools();
    expect(tools.tools.map((t) => [t.name, t.description])).toEqual([["subagent_runner", "Runs commands\n\nSame words in every arm."]]);
    const r = await client.callTool({ name: "subagent_runner", arguments: { prompt: "what is it?" } });
    expect(r.content).toEqual([{ type: "text", text: "42" }]);
    expect(asked).toEqual(["what is it?"]);
  });
});
