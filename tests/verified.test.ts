import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDatasetStats, readEvalResult } from "../src/artifacts/index.js";
import { datasetCard } from "../src/dataset/card.js";
import { provenanceOf } from "../src/dataset/provenance.js";
import { readTraces } from "../src/dataset/read-traces.js";
import type { RowOptions } from "../src/dataset/rows.js";
import { selectRows } from "../src/dataset/select.js";
import { datasetStats } from "../src/dataset/stats.js";
import type { DatasetStats } from "../src/dataset/types.js";
import type { Verification } from "../src/envs/types.js";
import { checkTargets, ratios, summarize, taskResult, type Outcome } from "../src/eval/metrics.js";
import type { EvalResult, EvalRole } from "../src/eval/types.js";
import { renderReportHtml } from "../src/report/html.js";
import { renderReportMarkdown } from "../src/report/markdown.js";
import { gatherReport } from "../src/stages/report-run.js";
import type { RunContext } from "../src/stages/types.js";
import type { Trace } from "../src/traces/types.js";
import { makeProject, sabuild, sabuildJson, tempDir } from "./helpers.js";

/** A verifier's record as the rollout writes it: exit 0 passes (the exit_code rule). */
function verification(passed: boolean, extra: Partial<Verification> = {}): Verification {
  return { passed, reward: passed ? 1 : 0, exit_code: passed ? 0 : 1, timed_out: false, duration_ms: 1200, output_tail: passed ? "3 passed" : "1 failed, 2 passed", ...extra };
}

type Kind = { ok?: boolean; verified?: boolean; status?: Trace["status"]; judge?: number };

/** A whole trace of `task` by `role`: completed with the contract held unless `kind` says otherwise. */
function trace(role: Trace["model"]["role"], task: string, kind: Kind = {}): Trace & { judge?: { score: number } } {
  const ok = kind.ok ?? true;
  return {
    version: 1,
    subagent: "fixer",
    task: { id: task, prompt: `fix ${task}`, tags: [] },
    sample: 0,
    model: { name: role === "teacher" ? "gpt-4.1" : `${role}.gguf`, base_url: "http://127.0.0.1:9/v1", role },
    status: kind.status ?? (ok ? "completed" : "contract_violation"),
    ...(ok ? { final_answer: `fixed ${task}` } : {}),
    contract: { tag: "final_answer", ok },
    messages: [
      { role: "system", content: "You fix bugs." },
      { role: "user", content: `fix ${task}` },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "Bash", arguments: '{"command":"pytest -q"}' } }] },
      { role: "tool", tool_call_id: "c1", content: "1 failed" },
      { role: "assistant", content: ok ? `<final_answer>fixed ${task}</final_answer>` : "done" },
    ],
    tools: [{ type: "function", function: { name: "Bash", description: "Runs a command.", parameters: { type: "object", properties: { command: { type: "string" } } } } }],
    turns: 2,
    tool_calls: 1,
    tool_errors: 0,
    usage: { prompt_tokens: 500, completion_tokens: 50, requests: 2, cached_requests: 0, cost_usd: role === "teacher" ? 0.002 : 0 },
    timings: { started_at: "2026-11-21T00:00:00Z", duration_ms: 900, model_ms: 800, tool_ms: 100 },
    sandbox: { recipe: "python-repo", id: "sha256:abc", tag: "sabuild/python-repo:abc" },
    ...(kind.verified !== undefined ? { verification: verification(kind.verified) } : {}),
    ...(kind.judge !== undefined ? { judge: { score: kind.judge } } : {}),
  };
}

/** A traces stage output as the engine leaves it: index.json and items/<id>/trace.json. */
function tracesDir(items: Record<string, unknown>): string {
  const dir = tempDir("sabuild-verified-");
  writeFileSync(join(dir, "index.json"), JSON.stringify({ items: Object.keys(items).map((id) => ({ id })) }));
  for (const [id, t] of Object.entries(items)) {
    mkdirSync(join(dir, "items", id), { recursive: true });
    writeFileSync(join(dir, "items", id, "trace.json"), JSON.stringify(t, null, 1));
  }
  return dir;
}

function files(entries: Record<string, unknown>): string {
  const dir = tempDir("sabuild-verified-");
  for (const [path, content] of Object.entries(entries)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify(content, null, 1));
  }
  return dir;
}

// Two passing rollouts, one the tests fail, one of a task without a verifier, one that errored
// (its verifier passed, which does not save it), and one whose judge score is low as well.
const TRACES = {
  "p1.s0": trace("teacher", "p1", { verified: true }),
  "p2.s0": trace("teacher", "p2", { verified: true }),
  "f1.s0": trace("teacher", "f1", { verified: false }),
  "n1.s0": trace("teacher", "n1"),
  "e1.s0": trace("teacher", "e1", { verified: true, status: "error" }),
  "fj.s0": trace("teacher", "fj", { verified: false, judge: 0.1 }),
};

const OPTIONS: RowOptions = { judgeThreshold: 0.5, maxRepeatedToolCalls: 3, keepReasoning: false, requireVerified: true };

const SETTINGS = (requireVerified: boolean): DatasetStats["settings"] => ({
  max_tokens_per_row: 4000,
  validation: 0,
  judge_threshold: 0.5,
  max_repeated_tool_calls: 3,
  keep_reasoning: false,
  require_verified: requireVerified,
});

/** Rows, stats and card from traces on disk, with 100 tokens a row (the count is the tokenizer's business). */
async function build(dir: string, requireVerified: boolean) {
  const read = await readTraces(dir);
  const selection = selectRows(read, { ...OPTIONS, requireVerified });
  const rows = selection.candidates.map((c) => ({ row: c.row, tokens: 100, turns: c.trace.turns, toolErrors: c.trace.tool_errors }));
  const stats = datasetStats({ traces: read.length, train: rows, validation: [], dropped: selection.dropped, verification: selection.verification, baseModel: "Qwen/Qwen3-0.6B", settings: SETTINGS(requireVerified) });
  const card = datasetCard(stats, provenanceOf({ name: "fixer", description: "Fixes bugs" }, selection.candidates.map((c) => c.trace), new Map()));
  return { selection, stats, card };
}

describe("dataset.require_verified", () => {
  it("keeps only rollouts whose verifier passed, before the judge, and the card counts what it dropped", async () => {
    const { selection, stats, card } = await build(tracesDir(TRACES), true);
    expect(selection.candidates.map((c) => c.row.meta.task_id)).toEqual(["p1", "p2"]);
    expect(selection.candidates.map((c) => c.row.meta.verified)).toEqual([true, true]);
    // The errored rollout is dropped for its status, the low-scored failing one by the verifier.
    expect(Object.fromEntries(selection.dropped)).toEqual({ verifier_failed: 2, unverified: 1, error: 1 });
    expect(stats.dropped).toEqual({ total: 4, by_reason: { error: 1, unverified: 1, verifier_failed: 2 } });
    expect(stats.verification).toEqual({ traces: 5, passed: 3, rows: 2 });
    expect(stats.settings.require_verified).toBe(true);

    expect(card).toContain("| verifier_failed | 2 | the task's verifier did not pass (dataset.require_verified) |");
    expect(card).toContain("| unverified | 1 | no verifier result: the task has no verifier (dataset.require_verified) |");
    expect(card).toContain("## Verification");
    expect(card).toContain("5 of 6 traces carry a task verifier result, 3 of them passed. 2 of the 2 rows are verified");
    expect(card).toContain("the verifier dropped 3 traces (2 failed, 1 without a verifier)");
    expect(card).toContain("judge score >= 0.5, only rollouts whose task verifier passed.");
  });

  it("off, keeps failing and unverified rollouts, marks each row's verdict, and still counts the verifier", async () => {
    const { selection, stats, card } = await build(tracesDir(TRACES), false);
    const verdicts = Object.fromEntries(selection.candidates.map((c) => [c.row.meta.task_id, c.row.meta.verified]));
    expect(verdicts).toEqual({ f1: false, n1: undefined, p1: true, p2: true });
    expect("verified" in selection.candidates.find((c) => c.row.meta.task_id === "n1")!.row.meta).toBe(false);
    expect(Object.fromEntries(selection.dropped)).toEqual({ error: 1, below_judge_threshold: 1 });
    expect(stats.verification).toEqual({ traces: 5, passed: 3, rows: 2 });
    expect(card).toContain("2 of the 4 rows are verified");
    expect(card).toContain("dataset.require_verified is off");
    expect(card).not.toContain("only rollouts whose task verifier passed");
  });

  it("says nothing of verification when no trace has a verifier and the flag is off; drops them all when it is on", async () => {
    const plain = { "a.s0": trace("teacher", "a"), "b.s0": trace("teacher", "b") };
    const off = await build(tracesDir(plain), false);
    expect(off.stats.verification).toEqual({ traces: 0, passed: 0, rows: 0 });
    expect(off.card).not.toContain("Verification");
    const on = await build(tracesDir(plain), true);
    expect(on.selection.candidates).toEqual([]);
    expect(on.stats.dropped.by_reason).toEqual({ unverified: 2 });
    expect(on.card).toContain("0 of 2 traces carry a task verifier result");
  });

  it("reads a trace whose verification is not a verifier's record as unreadable", async () => {
    const bad = { ...trace("teacher", "x"), verification: { passed: "yes" } };
    const read = await readTraces(tracesDir({ "x.s0": bad }));
    expect(read).toEqual([{ item: "x.s0", problem: expect.stringMatching(/^items\/x\.s0\/trace\.json: verification\.passed: expected boolean/) }]);
  });
});

/** A traces stage standing in for the real one: each task's rollout with the verifier result its id names. */
const TRACES_PLUGIN = `import { writeFileSync } from "node:fs";
import { join } from "node:path";
const traces = ${JSON.stringify({ f1: TRACES["f1.s0"], n1: TRACES["n1.s0"], e1: TRACES["e1.s0"] })};
export default () => [
  {
    kind: "traces", version: "1", deps: ["tasks"],
    inputs: async () => ({ ok: true, value: { params: {}, files: [] } }),
    map: {
      over: "tasks",
      async open() {
        return {
          items: Object.keys(traces).map((id) => ({ id: id + ".s0", input: { id } })),
          async runItem(ctx, item) {
            writeFileSync(join(ctx.outDir, "trace.json"), JSON.stringify(traces[item.input.id]));
          },
        };
      },
    },
  },
];
`;

describe("dataset.require_verified through the CLI", () => {
  it("drops what the verifier failed or never ran, writes the counts to stats.json and card.md, and is in the key", async () => {
    const dir = makeProject({
      "subagents.yaml": [
        "version: 1",
        "plugins: [plugins/traces.mjs]",
        "subagents:",
        "  alpha:",
        "    source:",
        "      inline:",
        "        description: Fixes bugs",
        "        prompt: You fix bugs.",
        "    tasks:",
        "      from: tasks.jsonl",
        "      holdout: 0",
        "      count: 1",
        "    dataset:",
        "      require_verified: true",
        "",
      ].join("\n"),
      "tasks.jsonl": ["f1", "n1", "e1"].map((id) => JSON.stringify({ id, prompt: `fix ${id}` })).join("\n") + "\n",
      "plugins/traces.mjs": TRACES_PLUGIN,
    });
    // Every rollout is dropped, so no tokenizer is loaded.
    const r = sabuild(dir, ["build", "alpha:dataset", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = sabuildJson<{ tree: string }>(dir, ["artifacts", "alpha:dataset"]).tree;
    const stats = await readDatasetStats(out);
    expect(stats.ok && stats.value.verification).toEqual({ traces: 2, passed: 1, rows: 0 });
    expect(stats.ok && stats.value.settings.require_verified).toBe(true);
    expect(readFileSync(join(out, "card.md"), "utf8")).toContain("the verifier dropped 2 traces (1 failed, 1 without a verifier)");

    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("require_verified: true", "require_verified: false"));
    const plan = sabuildJson<{ stages: { id: string; reasons: { message: string }[] }[] }>(dir, ["plan", "alpha:dataset"]);
    expect(plan.stages.find((s) => s.id === "alpha:dataset")!.reasons.map((x) => x.message)).toContain("param require_verified changed: true -> false");
  }, 120_000);
});

/** Three held-out tasks: t1 and t2 have verifiers, t3 has none. */
function outcomes(student: (boolean | undefined)[], teacher: (boolean | undefined)[]): Record<"student" | "teacher", Outcome[]> {
  const of = (role: "student" | "teacher", verdicts: (boolean | undefined)[]): Outcome[] =>
    verdicts.map((v, i) => ({ trace: trace(role, `t${i + 1}`, v === undefined ? {} : { verified: v }), judgePass: true }));
  return { student: of("student", student), teacher: of("teacher", teacher) };
}

const TARGETS = { verified_success: ">= 0.5", verified_success_vs_teacher: ">= 0.9", min_success_rate: 1 };

describe("eval: verified success", () => {
  it("per model: tasks with a verifier result, passed, success rate; the ratio to the teacher; targets on both", () => {
    const os = outcomes([true, false, undefined], [true, true, undefined]);
    const student = summarize("student", os.student, 10);
    const teacher = summarize("teacher", os.teacher, 10);
    expect(student.verified).toEqual({ tasks: 2, passed: 1, success_rate: 0.5 });
    expect(teacher.verified).toEqual({ tasks: 2, passed: 2, success_rate: 1 });
    // The judge-free success rate is not the verifier's.
    expect(student.success_rate).toBe(1);
    const r = ratios(student, teacher);
    expect(r.verified_success_vs_teacher).toBe(0.5);
    expect(checkTargets(TARGETS, student, r)).toEqual([
      { name: "verified_success", expected: ">= 0.5", actual: 0.5, ok: true },
      { name: "verified_success_vs_teacher", expected: ">= 0.9", actual: 0.5, ok: false },
      { name: "min_success_rate", expected: ">= 1", actual: 1, ok: true },
    ]);
    expect(taskResult("student", "t2", os.student[1]!)).toEqual({ status: "completed", success: true, verified: false, trace: "traces/student/t2.json" });
    expect(taskResult("student", "t3", os.student[2]!)).toEqual({ status: "completed", success: true, trace: "traces/student/t3.json" });
  });

  it("without verifiers: no verified summary, a null ratio, and targets on it missed", () => {
    const os = outcomes([undefined, undefined], [undefined, undefined]);
    const student = summarize("student", os.student, 10);
    const teacher = summarize("teacher", os.teacher, 10);
    expect("verified" in student).toBe(false);
    const r = ratios(student, teacher);
    expect(r.verified_success_vs_teacher).toBeNull();
    expect(checkTargets(TARGETS, student, r).map((t) => [t.name, t.actual, t.ok])).toEqual([
      ["verified_success", null, false],
      ["verified_success_vs_teacher", null, false],
      ["min_success_rate", 1, true],
    ]);
  });

  it("a verified summary and verdicts survive eval.json's reader", async () => {
    const ev = evalResult(outcomes([true, false, undefined], [true, true, undefined]));
    const read = await readEvalResult(files({ "eval.json": ev }));
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.value.models.student!.verified).toEqual({ tasks: 2, passed: 1, success_rate: 0.5 });
    expect(read.value.tasks.map((t) => t.results.student!.verified)).toEqual([true, false, undefined]);
  });
});

function evalResult(os: Record<"student" | "teacher", Outcome[]>): EvalResult & { notes: string[] } {
  const models = { student: summarize("student", os.student, 10), teacher: summarize("teacher", os.teacher, 10) };
  const r = ratios(models.student, models.teacher);
  const targets = checkTargets(TARGETS, models.student, r);
  return {
    version: 1,
    subagent: "fixer",
    models,
    ratios: r,
    targets,
    gate: { enabled: true, passed: targets.every((t) => t.ok) },
    tasks: os.student.map((o, i) => ({
      id: o.trace.task.id,
      prompt: o.trace.task.prompt,
      results: Object.fromEntries((["student", "teacher"] as const).map((role) => [role, taskResult(role, o.trace.task.id, os[role][i]!)])) as Partial<Record<EvalRole, ReturnType<typeof taskResult>>>,
    })),
    notes: [],
  };
}

describe("report: verified success", () => {
  const context = (upstream: Record<string, string>): RunContext =>
    ({
      subagent: { name: "fixer", teacher: {}, eval: { gate: true } },
      upstream: Object.fromEntries(Object.entries(upstream).map(([kind, dir]) => [kind, { dir, digest: kind }])),
      log: () => {},
    }) as unknown as RunContext;

  /** The eval stage's output on disk (eval.json and the traces it names) and the page gathered from it. */
  async function gathered(os: Record<"student" | "teacher", Outcome[]>, edit: (ev: EvalResult) => void = () => {}) {
    const ev = evalResult(os);
    edit(ev);
    const traceFiles = Object.fromEntries((["student", "teacher"] as const).flatMap((role) => os[role].map((o) => [`traces/${role}/${o.trace.task.id}.json`, o.trace])));
    const { stats } = await build(tracesDir(TRACES), true);
    return gatherReport(context({ eval: files({ "eval.json": ev, ...traceFiles }), dataset: files({ "stats.json": stats }), traces: tracesDir(TRACES) }));
  }

  it("shows verified success per model beside the judge's score, per task, and in the stage details", async () => {
    const input = await gathered(outcomes([true, false, undefined], [true, true, undefined]));
    expect(input.stages.find((s) => s.kind === "traces")!.detail).toContain("tests passed on 3 of 5 verified");
    expect(input.stages.find((s) => s.kind === "dataset")!.detail).toBe("2 rows (2 train, 0 validation, 2 verified), 4 dropped (1 error, 1 unverified, 2 verifier_failed)");

    const html = renderReportHtml(input);
    expect(html).toContain("<tr><th>verified success</th><td class=\"num\">50.0% (1 of 2)</td><td class=\"num\">100.0% (2 of 2)</td></tr>");
    expect(html).toContain("<tr><th>verified_success_vs_teacher</th><td class=\"num\">0.500</td></tr>");
    expect(html).toContain('aria-label="Success rate"');
    expect(html).toContain("verified by tests");
    const [, , task2 = "", task3 = ""] = html.split('<details class="task"');
    expect(task2).toContain('student: pass</span>, <span class="verifier bad">tests failed</span>');
    expect(task2).toContain('teacher: pass</span>, <span class="verifier ok">tests passed</span>');
    expect(task2).toContain("verifier output");
    expect(task2).toContain("1 failed, 2 passed");
    expect(task3).not.toContain("tests passed");

    const md = renderReportMarkdown(input);
    expect(md).toContain("| verified success | 50.0% (1/2) | 100.0% (2/2) |");
    expect(md).toContain("✅ `verified_success >= 0.5` (actual 0.50)");
    expect(md).toContain("❌ `verified_success_vs_teacher >= 0.9` (actual 0.50)");
  });

  it("reads a task's verdict from its trace when eval.json has none; no verified row without verifiers", async () => {
    const older = await gathered(outcomes([false, true], [true, true]), (ev) => {
      for (const t of ev.tasks) for (const r of Object.values(t.results)) delete r!.verified;
    });
    expect(renderReportHtml(older)).toContain('student: pass</span>, <span class="verifier bad">tests failed</span>');

    const none = await gathered(outcomes([undefined], [undefined]));
    const html = renderReportHtml(none);
    expect(html).not.toContain("verified success");
    expect(html).not.toContain("verified by tests");
    // The pipeline table's traces row still counts the traces stage's verified rollouts: no task carries a verdict.
    expect(html).not.toContain('class="verifier');
    expect(renderReportMarkdown(none)).not.toContain("verified success");
  });
});
