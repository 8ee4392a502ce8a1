import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, exited, makeProject, REPO, sabuildJson, spawnSabuild, waitFor } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { TEST_PYTHON, tinyGguf } from "./support/tiny-gguf.js";

/**
 * serve.record through the real CLI: `sabuild serve` and `sabuild serve --mcp` with a tiny GGUF
 * on llama-server as the student (it breaks the contract, so the stand-in teacher answers), the
 * official clients in front. What they record is read back with `sabuild traffic`; the canary
 * key the client sends is in no file of the project afterwards.
 */

const ENV = { SABUILD_PYTHON: TEST_PYTHON, HF_HUB_OFFLINE: "1" };
const CANARY = "sk-canary-serve-5e4d3c2b1a0f9e8d";
let dir: string;

beforeAll(async () => {
  await ensureDocker();
  const gguf = await tinyGguf();
  dir = makeProject({
    "subagents.yaml": [
      "version: 1",
      "plugins: [plugins/gguf-export.mjs]",
      "serve: { record: true }",
      "subagents:",
      "  runner:",
      "    source:",
      "      inline:",
      "        description: Runs shell commands",
      "        prompt: You run commands and report what they print.",
      "        tools: [Bash, Read]",
      "    teacher: { standin: policy.mjs, model: scripted }",
      "    tasks: { from: tasks.jsonl, count: 1, holdout: 0 }",
      "    traces: { max_turns: 2 }",
      "    eval: { models: [student], max_tokens: 16, concurrency: 1 }",
      "",
    ].join("\n"),
    "tasks.jsonl": '{"id":"t1","prompt":"Print the workspace listing."}\n',
  });
  mkdirSync(join(dir, "plugins"));
  copyFileSync(join(REPO, "tests/fixtures/plugins/gguf-export.mjs"), join(dir, "plugins/gguf-export.mjs"));
  copyFileSync(join(REPO, "tests/fixtures/standin/rollout-policy.mjs"), join(dir, "policy.mjs"));
  symlinkSync(gguf, join(dir, "student.gguf"));
  const built = sabuildJson<{ ok: boolean }>(dir, ["build", "runner:sandbox", "runner:export"], ENV);
  expect(built.ok, JSON.stringify(built)).toBe(true);
}, 600_000);

function filesHolding(text: string): string[] {
  try {
    return execFileSync("grep", ["-rlF", "--", text, dir], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch (e) {
    if ((e as { status?: number }).status === 1) return [];
    throw e;
  }
}

type Ls = { records: { mode: string; answered_by: string; route_reason: string; prompt: string; tokens: { completion: number } }[] };

describe("sabuild serve with serve.record", () => {
  it("the gateway records each delegation; the client's key reaches no file", async () => {
    const child = spawnSabuild(dir, ["serve", "runner", "--port", "0", "--json"], ENV);
    await waitFor(() => child.output().includes('"url"') || child.exitCode !== null, 120_000, "the gateway");
    expect(child.exitCode, child.output()).toBeNull();
    const url = (JSON.parse(child.output().split("\n").find((l) => l.includes('"url"'))!) as { url: string }).url;
    const client = new OpenAI({ baseURL: url, apiKey: CANARY, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "subagent/runner", messages: [{ role: "user", content: "Print the workspace listing." }], max_tokens: 16 }).withResponse();
    expect(r.response.headers.get("x-sabuild-answered-by")).toBeTruthy();
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);

    const ls = sabuildJson<Ls>(dir, ["traffic", "ls"]);
    expect(ls.records).toHaveLength(1);
    expect(ls.records[0]).toMatchObject({ mode: "gateway", prompt: "Print the workspace listing.", answered_by: r.response.headers.get("x-sabuild-answered-by") });
    expect(filesHolding(CANARY)).toEqual([]);
  }, 180_000);

  it("serve --mcp records the answering model's whole trace and why it answered", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "serve", "--mcp", "runner"], cwd: dir, env: { ...(process.env as Record<string, string>), CI: "1", ...ENV }, stderr: "ignore" });
    const client = new Client({ name: "sabuild-test", version: "1.0.0" });
    await client.connect(transport);
    const r = await client.callTool({ name: "subagent_runner", arguments: { prompt: "Show the kernel version." } });
    expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
    const meta = r._meta as { answered_by: string };
    await client.close();
    await waitFor(() => sabuildJson<Ls>(dir, ["traffic", "ls"]).records.length === 2, 20_000, "the MCP record");

    const mcp = sabuildJson<Ls>(dir, ["traffic", "ls"]).records.find((x) => x.mode === "mcp")!;
    expect(mcp).toMatchObject({ prompt: "Show the kernel version.", answered_by: meta.answered_by });
    // The tiny student does not finish with its contract held: the reason is its trace's status.
    if (meta.answered_by === "teacher") expect(mcp.route_reason).not.toBe("student");
    const exported = sabuildJson<{ lines: { mode: string; trace?: { messages: { role: string }[]; model: { role: string } } }[] }>(dir, ["traffic", "export"]);
    const trace = exported.lines.find((l) => l.mode === "mcp")!.trace!;
    expect(trace.model.role).toBe(meta.answered_by);
    expect(trace.messages[0]!.role).toBe("system");
    expect(trace.messages.some((m) => m.role === "tool")).toBe(true);
    const stats = sabuildJson<{ subagents: { delegations: number }[] }>(dir, ["traffic", "stats"]);
    expect(stats.subagents[0]!.delegations).toBe(2);
  }, 180_000);
});
