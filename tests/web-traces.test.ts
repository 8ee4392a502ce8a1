import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trace } from "../src/traces/types.js";
import { makeProject, sabuild, sabuildJson } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { startNginx, type Nginx } from "./nginx.js";

/**
 * A research subagent through the real CLI: the stand-in teacher searches a docs site with the
 * local provider and reads the first hit with WebFetch from nginx (loopback allow-listed by
 * name). Built in record mode, then in replay mode with nginx stopped: the traces are the same.
 * A task whose search was never recorded fails its rollout with the replay message.
 */

const POLICY = `
export function policy(request) {
  const tools = request.messages.filter((m) => m.role === "tool");
  const task = request.messages.find((m) => m.role === "user").content;
  if (tools.length === 0) return { tool_calls: [{ name: "WebSearch", arguments: { query: task } }] };
  if (tools.length === 1) {
    const url = /\\n {3}(https?:\\S+)/.exec(tools[0].content)?.[1];
    if (!url) return { content: "<final_answer>no results: " + tools[0].content + "</final_answer>" };
    return { tool_calls: [{ name: "WebFetch", arguments: { url, prompt: "What does it say?" } }] };
  }
  const first = tools[1].content.split("\\n").find((l) => l.includes("lightweight")) ?? tools[1].content.slice(0, 200);
  return { content: "<final_answer>" + first + "</final_answer>" };
}
`;

const PAGES: Record<string, string> = {
  "library/json.html": "<html><head><title>json — JSON encoder and decoder</title></head><body><article><h1>json</h1><p>JSON is a lightweight data interchange format.</p></article></body></html>",
  "library/csv.html": "<html><head><title>csv — CSV File Reading and Writing</title></head><body><article><h1>csv</h1><p>The csv module reads and writes tabular data.</p></article></body></html>",
};

function config(mode: string, base: string): string {
  return `version: 1
subagents:
  researcher:
    source:
      inline:
        description: Answers questions from the documentation
        prompt: You answer from the documentation, citing the pages you read.
        tools: [WebSearch, WebFetch]
    teacher: {standin: policy.mjs, model: scripted}
    sandbox: {recipe: shell}
    tasks: {from: tasks.jsonl, holdout: 0, count: 1}
    traces: {max_turns: 4}
    web:
      mode: ${mode}
      search: {provider: local, root: site, base_url: "${base}/"}
      fetch: {allow: [localhost]}
`;
}

function traces(dir: string): Record<string, Trace> {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "researcher:traces"]);
  const out: Record<string, Trace> = {};
  for (const f of art.files) {
    const m = /^items\/([^/]+)\/trace\.json$/.exec(f.path);
    if (m) out[m[1]!] = JSON.parse(readFileSync(f.blob, "utf8")) as Trace;
  }
  return out;
}

describe("a research subagent's traces", () => {
  let nginx: Nginx;
  let dir: string;
  let base: string;

  beforeAll(async () => {
    await ensureDocker();
    nginx = await startNginx();
    base = nginx.url.replace("127.0.0.1", "localhost");
    dir = makeProject({ "policy.mjs": POLICY, "tasks.jsonl": `${JSON.stringify({ id: "json", prompt: "JSON interchange format" })}\n` });
    for (const [path, html] of Object.entries(PAGES)) {
      for (const root of [join(dir, "site"), nginx.data]) {
        mkdirSync(join(root, "library"), { recursive: true });
        writeFileSync(join(root, path), html);
      }
    }
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
  });

  it("searches and reads on the host, records, and replays the same traces with nginx stopped", async () => {
    writeFileSync(join(dir, "subagents.yaml"), config("record", base));
    const built = sabuild(dir, ["build", "researcher:traces"]);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const recorded = traces(dir)["json.s0"]!;
    expect(recorded.status).toBe("completed");
    expect(recorded.final_answer).toContain("JSON is a lightweight data interchange format.");
    const toolMessages = recorded.messages.filter((m) => m.role === "tool").map((m) => String(m.content));
    expect(toolMessages[0]).toContain(`1. json — JSON encoder and decoder\n   ${base}/library/json.html`);
    expect(toolMessages[1]).toContain("# json — JSON encoder and decoder");
    // The trace names each result its calls saw, by the digest of the record in the store.
    const calls = recorded.messages.flatMap((m) => m.tool_calls ?? []).map((c) => c.id);
    expect(recorded.recorded).toEqual([
      { tool_call_id: calls[0], kind: "search", key: expect.stringMatching(/^[0-9a-f]{64}$/), digest: expect.stringMatching(/^[0-9a-f]{64}$/), from: "live" },
      { tool_call_id: calls[1], kind: "fetch", key: expect.stringMatching(/^[0-9a-f]{64}$/), digest: expect.stringMatching(/^[0-9a-f]{64}$/), from: "live" },
    ]);
    for (const r of recorded.recorded!) {
      const blob = execFileSync("find", [dir, "-type", "f", "-name", r.digest], { encoding: "utf8" }).trim().split("\n")[0]!;
      expect(JSON.parse(readFileSync(blob, "utf8"))).toMatchObject({ kind: r.kind });
    }

    await nginx.stop();
    writeFileSync(join(dir, "subagents.yaml"), config("replay", base));
    const replayed = sabuild(dir, ["build", "researcher:traces"]);
    expect(replayed.code, replayed.stdout + replayed.stderr).toBe(0);
    const again = traces(dir)["json.s0"]!;
    expect(again.messages).toEqual(recorded.messages);
    // The same records, now read from the store.
    expect(again.recorded).toEqual(recorded.recorded!.map((r) => ({ ...r, from: "stored" })));

    // A new task: its search was never recorded, so its rollout fails and says why.
    writeFileSync(join(dir, "tasks.jsonl"), `${JSON.stringify({ id: "json", prompt: "JSON interchange format" })}\n${JSON.stringify({ id: "csv", prompt: "CSV tabular data" })}\n`);
    const missing = sabuild(dir, ["build", "researcher:traces"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stdout + missing.stderr).toMatch(/web\.mode is replay and the store holds no recorded result for WebSearch "CSV tabular data" \(local\)/);
  }, 300_000);
});
