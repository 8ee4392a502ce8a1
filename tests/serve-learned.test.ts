import type { ChildProcess } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, makeProject, REPO, sabuildJson, startServe } from "./helpers.js";
import { tinyGguf } from "./support/tiny-gguf.js";

// `sabuild serve` with route.policy: learned, end to end through the CLI: the router built by
// its stage from eval's outcomes (a plugin eval stage copies a fixture eval.json), the student
// the tiny GGUF on a real llama-server, the teacher a stand-in, a real OpenAI client.

const PLUGIN = `import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
export default () => [
  {
    kind: "export", version: "1", deps: [],
    inputs: async () => ({ ok: true, value: { params: {}, files: [] } }),
    async run(ctx) {
      copyFileSync(join(ctx.project.root, "student.gguf"), join(ctx.outDir, "student.gguf"));
      writeFileSync(join(ctx.outDir, "export.json"), JSON.stringify({ shipped: "student.gguf", gguf_outtype: "f16" }));
    },
  },
  {
    kind: "eval", version: "1", deps: [],
    inputs: () => ({ ok: true, value: { params: {}, files: ["eval-fixture.json"] } }),
    run: async (ctx) => copyFileSync(join(ctx.project.root, "eval-fixture.json"), join(ctx.outDir, "eval.json")),
  },
];
`;

const summary = (role: string, rate: number) => ({ role, model: { name: role, base_url: "x", role }, tasks: 6, success_rate: rate, failure_modes: {}, statuses: {}, turns_mean: 1, tool_calls_mean: 0, tokens: { prompt: 1, completion: 1, per_task: 2 }, latency_ms: { mean: 1, p50: 1, p95: 1 }, cost_per_task_usd: role === "teacher" ? 0.01 : 0 });
const prompts: [string, boolean][] = [
  ["rename the variable count in parser.py", true],
  ["rename the function load in config.py", true],
  ["rename the class Reader in io.py", true],
  ["debug the flaky network retry under load", false],
  ["debug the intermittent network timeout in the client", false],
  ["debug the race in the network pool", false],
];
const res = (success: boolean) => ({ status: success ? "completed" : "contract_violation", success, trace: "t.json" });
const EVAL = JSON.stringify({
  version: 1,
  subagent: "searcher",
  models: { student: summary("student", 0.5), teacher: summary("teacher", 1) },
  ratios: {},
  targets: [],
  gate: { enabled: false, passed: true },
  tasks: prompts.map(([prompt, ok], i) => ({ id: `t${i}`, prompt, results: { student: res(ok), teacher: res(true) } })),
});

const CONFIG = `version: 1
plugins: [stages.mjs]
subagents:
  searcher:
    source:
      inline:
        description: Finds code
        prompt: You find code.
    teacher: { standin: teacher.mjs, model: scripted-teacher }
    route: { policy: learned, threshold: 0.5 }
`;

describe("sabuild serve with a learned router", () => {
  let child: ChildProcess;
  let ready: { url: string; metrics: string };
  let serveStderr: () => string = () => "";
  beforeAll(async () => {
    const gguf = await tinyGguf();
    const dir = makeProject({ "subagents.yaml": CONFIG, "stages.mjs": PLUGIN, "eval-fixture.json": EVAL, "teacher.mjs": 'export const policy = () => ({ content: "<final_answer>teacher</final_answer>" });\n' });
    copyFileSync(gguf, join(dir, "student.gguf"));
    const built = sabuildJson<{ ok: boolean }>(dir, ["build", "searcher:router", "searcher:export"]);
    expect(built.ok, JSON.stringify(built)).toBe(true);
    ({ child, ready, stderr: serveStderr } = await startServe<{ url: string; metrics: string }>(dir, ["--port", "0"]));
  }, 300_000);
  afterAll(async () => {
    if (!child || child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  });

  it("sends tasks like the student's failures to the teacher before asking the student, and the rest to the student", async () => {
    expect(serveStderr()).toMatch(/searcher: student student\.gguf on .*route policy learned/);
    const client = new OpenAI({ baseURL: ready.url, apiKey: "unused", maxRetries: 0 });
    const ask = async (content: string) => {
      const r = await client.chat.completions.create({ model: "subagent/searcher", max_tokens: 8, messages: [{ role: "user", content }] }).withResponse();
      return { who: r.response.headers.get("x-sabuild-answered-by"), reason: r.response.headers.get("x-sabuild-route-reason"), score: (r.data as unknown as { sabuild: { router_score: number } }).sabuild.router_score };
    };
    const hard = await ask("debug the network socket timeout");
    expect(hard).toMatchObject({ who: "teacher", reason: "router" });
    expect(hard.score).toBeLessThan(0.5);
    const easy = await ask("rename the variable total in parser.py");
    expect(easy.score).toBeGreaterThan(0.5);
    // The student was asked: the tiny random model keeps its answer, or breaks the contract and the teacher answers.
    expect(["student:passed", "teacher:contract"]).toContain(`${easy.who}:${easy.reason}`);
    const metrics = await (await fetch(ready.metrics)).text();
    expect(metrics).toMatch(/sabuild_gateway_routed_total\{answered_by="teacher",reason="router",route="searcher"\} 1/);
    expect(metrics).toMatch(/sabuild_gateway_router_score_count\{route="searcher"\} 2/);
    // The drift baseline is the router curve's share to the teacher at the threshold.
    expect(metrics).toMatch(/sabuild_gateway_expected_escalation_ratio\{route="searcher"\} 0\.\d+/);
  }, 120_000);
});
