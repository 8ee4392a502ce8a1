import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTargets, ratios, summarize, type Outcome } from "../src/eval/metrics.js";
import type { EvalResult } from "../src/eval/types.js";
import { renderReportHtml } from "../src/report/html.js";
import { renderReportMarkdown } from "../src/report/markdown.js";
import type { ReportInput } from "../src/report/types.js";
import type { Trace } from "../src/traces/types.js";
import { copyExample, sabuild, tempDir } from "./helpers.js";

function trace(role: Trace["model"]["role"], task: string, ok: boolean, ms: number, cost: number): Trace {
  return {
    version: 1,
    subagent: "searcher",
    task: { id: task, prompt: `find ${task}`, tags: [] },
    sample: 0,
    model: { name: role === "teacher" ? "gpt-4.1" : `${role}.gguf`, base_url: "x", role },
    status: ok ? "completed" : "contract_violation",
    ...(ok ? { final_answer: `${task} is in src/${task}.py:3` } : { error: "no <final_answer>" }),
    contract: { tag: "final_answer", ok },
    messages: [
      { role: "system", content: "You locate code." },
      { role: "user", content: `find ${task}` },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "Grep", arguments: `{"pattern":"${task}"}` } }] },
      { role: "tool", tool_call_id: "c1", content: `src/${task}.py:3: def ${task}():` },
      { role: "assistant", content: ok ? `<final_answer>${task} is in src/${task}.py:3</final_answer>` : "somewhere <b>in</b> src" },
    ],
    tools: [],
    turns: 2,
    tool_calls: 1,
    tool_errors: 0,
    usage: { prompt_tokens: 900, completion_tokens: 80, requests: 2, cached_requests: 0, cost_usd: cost },
    timings: { started_at: "2026-11-21T00:00:00Z", duration_ms: ms, model_ms: ms - 100, tool_ms: 100 },
    sandbox: { recipe: "python-repo", id: "sha256:abc", tag: "sabuild/python-repo:abc" },
  };
}

function input(): ReportInput {
  const tasks = ["parse_date", "retry", "log_level"];
  const outcomes: Record<string, Outcome[]> = {
    student: tasks.map((t, i) => ({ trace: trace("student", t, i < 2, 400, 0), judgePass: true })),
    base: tasks.map((t) => ({ trace: trace("base", t, false, 300, 0), judgePass: true })),
    teacher: tasks.map((t) => ({ trace: trace("teacher", t, true, 2000, 0.004), judgePass: true })),
  };
  const models = Object.fromEntries(Object.entries(outcomes).map(([r, os]) => [r, summarize(r as "student", os, 10)]));
  const r = ratios(models.student, models.teacher);
  const targets = checkTargets({ success_vs_teacher: ">= 0.95", max_cost_per_task: 0.01 }, models.student, r);
  const traces: Record<string, Trace> = {};
  const ev: EvalResult = {
    version: 1,
    subagent: "searcher",
    models,
    ratios: r,
    targets,
    gate: { enabled: false, reason: "tiny example model", passed: targets.every((t) => t.ok) },
    tasks: tasks.map((t, i) => ({
      id: t,
      prompt: `find ${t} <script>alert(1)</script>`,
      results: Object.fromEntries(
        Object.entries(outcomes).map(([role, os]) => {
          const path = `traces/${role}/${t}.json`;
          traces[path] = os[i]!.trace;
          return [role, { status: os[i]!.trace.status, success: os[i]!.trace.status === "completed", trace: path }];
        }),
      ),
    })),
  };
  return {
    subagent: "searcher",
    generatedAt: "2026-11-21",
    description: "Finds code",
    stages: [
      { kind: "tasks", status: "built", detail: "12 tasks (9 train, 3 held out)" },
      { kind: "traces", status: "built", durationMs: 81_000, costUsd: 0.07, detail: "9 rollouts: 9 completed" },
    ],
    training: { loss: [{ step: 1, loss: 11.9 }, { step: 2, loss: 9.1 }, { step: 3, loss: 6.2 }] },
    eval: ev,
    traces,
    notes: ["The teacher is a scripted stand-in."],
  };
}

describe("eval metrics", () => {
  it("summarises per model, computes the student's ratios and checks targets both ways", () => {
    const i = input();
    const ev = i.eval!;
    expect(ev.models.student!.success_rate).toBeCloseTo(2 / 3, 3);
    expect(ev.models.teacher!.success_rate).toBe(1);
    expect(ev.models.base!.failure_modes.contract_broken).toBe(3);
    expect(ev.ratios.success_vs_teacher).toBeCloseTo(0.6667, 3);
    expect(ev.ratios.latency_vs_teacher).toBeCloseTo(0.2, 3);
    expect(ev.targets).toEqual([
      { name: "success_vs_teacher", expected: ">= 0.95", actual: 0.6667, ok: false },
      { name: "max_cost_per_task", expected: "<= 0.01", actual: 0, ok: true },
    ]);
  });
});

const CHROMIUM = "/usr/bin/chromium";

describe("report page in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error("Chromium is missing: apt-get install chromium (bin/test installs it)");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("renders the tables and charts, escapes task text, and opens a task's traces side by side", async () => {
    const dir = tempDir("sabuild-report-");
    const file = join(dir, "index.html");
    writeFileSync(file, renderReportHtml(input()));
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`file://${file}`);
    expect(await page.title()).toBe("sabuild report: searcher");
    expect(await page.locator("#eval-table th").allTextContents()).toEqual(expect.arrayContaining(["student", "base", "teacher", "success rate"]));
    expect(await page.locator("svg.chart").count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator("svg.chart polyline.series").count()).toBe(1);
    expect(await page.locator('svg.chart rect.bar[data-model="student"]').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator("#targets td.bad").allTextContents()).toEqual(["missed"]);
    // The drill-down: closed at first, opened by a click on its summary.
    const task = page.locator("details.task").first();
    const studentTrace = task.locator('.trace[data-role="student"]');
    expect(await studentTrace.isVisible()).toBe(false);
    await task.locator("summary").click();
    expect(await studentTrace.isVisible()).toBe(true);
    expect(await task.locator('.trace[data-role="teacher"]').isVisible()).toBe(true);
    expect(await studentTrace.textContent()).toContain("Grep");
    // No network, no script injected from task text.
    expect(requests.filter((u) => !u.startsWith("file://"))).toEqual([]);
    expect(dialogs).toEqual([]);
    await page.close();
  }, 60_000);

  it("writes a markdown summary for CI comments", () => {
    const md = renderReportMarkdown(input());
    expect(md).toContain("| success rate | 66.7% | 0.0% | 100.0% |");
    expect(md).toContain("❌ `success_vs_teacher >= 0.95`");
    expect(md).toContain("Gate: off (tiny example model)");
  });
});

describe("report and serve name their subagents", () => {
  it("refuse an unknown subagent with a suggestion, before building or serving anything", () => {
    const dir = copyExample();
    for (const command of ["report", "serve"]) {
      const r = sabuild(dir, [command, "test-runer"]);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain('no subagent "test-runer" in subagents.yaml (did you mean "test-runner"?)');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
