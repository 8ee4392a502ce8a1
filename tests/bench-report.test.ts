import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchResultSchema } from "../src/artifacts/bench.js";
import { measure, type Pricing } from "../src/bench/measure.js";
import { compareArms, summarizeArms } from "../src/bench/stats.js";
import type { Arm, OrchestratorTrace } from "../src/bench/types.js";
import { renderBenchHtml } from "../src/report/bench-html.js";
import { renderBenchMarkdown } from "../src/report/bench-markdown.js";
import type { BenchReportInput } from "../src/report/bench-types.js";
import type { Trace } from "../src/traces/types.js";
import { tempDir } from "./helpers.js";

/**
 * The benchmark page from a hand-made benchmark: two tasks in three arms. The main agent and the
 * teacher are stand-ins; the student is a local model with no serving cost, so its cost is unknown.
 * none solves t1 only, with two terminal calls; teacher and student delegate the reading once.
 */

const TASKS = ["t1", "t2"];
const PROMPT = (t: string) => `Put the number from note.txt into result.txt <script>alert("${t}")</script>`;

function base(model: Trace["model"], task: string, messages: Trace["messages"], tokens: number, cost: number): Trace {
  const calls = messages.flatMap((m) => m.tool_calls ?? []).length;
  return {
    version: 1,
    subagent: "orchestrator",
    task: { id: task, prompt: PROMPT(task), tags: [] },
    sample: 0,
    model,
    status: "completed",
    contract: { tag: "", ok: true },
    messages,
    tools: [],
    turns: messages.filter((m) => m.role === "assistant").length,
    tool_calls: calls,
    tool_errors: 0,
    usage: { prompt_tokens: tokens, completion_tokens: tokens / 10, requests: 2, cached_requests: 0, cost_usd: cost },
    timings: { started_at: "2026-11-21T00:00:00Z", duration_ms: 1000, model_ms: 400, tool_ms: 600 },
    sandbox: { recipe: "shell", id: "sha256:abc", tag: "sabuild/shell:abc" },
  };
}

const call = (id: string, name: string, args: object) => ({ id, type: "function" as const, function: { name, arguments: JSON.stringify(args) } });

function subTrace(arm: Arm, task: string): Trace {
  const model: Trace["model"] = arm === "teacher" ? { name: "scripted-sub", base_url: "standin:sub.mjs", role: "teacher" } : { name: "student.gguf", base_url: "http://127.0.0.1:8080/v1", role: "student" };
  return {
    ...base(model, task, [
      { role: "system", content: "You run commands." },
      { role: "user", content: "What does note.txt say?" },
      { role: "assistant", content: null, tool_calls: [call("s1", "Bash", { command: "cat note.txt" })] },
      { role: "tool", tool_call_id: "s1", content: "7 <b>seven</b>" },
      { role: "assistant", content: "<final_answer>7</final_answer>" },
    ], 300, arm === "teacher" ? 0.001 : 0),
    subagent: "runner",
    final_answer: "7",
  };
}

function orchestratorTrace(arm: Arm, task: string): OrchestratorTrace {
  const resolved = arm !== "none" || task === "t1";
  const prompt = "What does note.txt say?";
  const read = arm === "none" ? call("c2", "Bash", { command: "cat note.txt" }) : call("c2", "Agent", { description: "read the note", prompt, subagent_type: "runner" });
  const messages: Trace["messages"] = [
    { role: "system", content: "You are the main agent." },
    { role: "user", content: PROMPT(task) },
    { role: "assistant", content: null, tool_calls: [call("c1", "Write", { file_path: "/workspace/note.txt", content: "7" })] },
    { role: "tool", tool_call_id: "c1", content: "wrote note.txt" },
    { role: "assistant", content: null, tool_calls: [read] },
    { role: "tool", tool_call_id: "c2", content: "7" },
    { role: "assistant", content: null, tool_calls: [call("c3", "Bash", { command: "echo 7 > result.txt" })] },
    { role: "tool", tool_call_id: "c3", content: "" },
    { role: "assistant", content: "Done." },
  ];
  const main = base({ name: "scripted-main", base_url: "standin:main.mjs", role: "orchestrator" }, task, messages, arm === "none" ? 2000 : 1200, arm === "none" ? 0.02 : 0.012);
  const delegations = arm === "none" ? [] : [{ subagent: "runner", description: "read the note", prompt, answer: "7", trace: subTrace(arm, task) }];
  return { ...main, verification: { passed: resolved, reward: resolved ? 1 : 0, exit_code: resolved ? 0 : 1, timed_out: false, duration_ms: 20, output_tail: "" }, arm, delegations };
}

const PRICING: Record<Arm, Pricing> = {
  none: { main: true, subagents: { kind: "api", priced: true } },
  teacher: { main: true, subagents: { kind: "api", priced: true } },
  base: { main: true, subagents: { kind: "local" } },
  student: { main: true, subagents: { kind: "local" } },
};

/** bench.json as the bench node writes it, from the traces above. */
function input(): BenchReportInput {
  const arms: Arm[] = ["none", "teacher", "student"];
  const traces: Record<string, OrchestratorTrace> = {};
  const rows = TASKS.flatMap((task) =>
    arms.map((arm) => {
      const t = orchestratorTrace(arm, task);
      const id = `${task}.${arm}.s0`;
      traces[id] = t;
      return { id, task, arm, sample: 0, status: t.status, ...measure(t, PRICING[arm]) };
    }),
  );
  const items = rows.map((r) => ({ task: r.task, arm: r.arm, sample: 0, resolved: r.resolved, metrics: { main_tokens: r.main_tokens, terminal_calls: r.terminal_calls, delegations: r.delegations, subagent_tokens: r.subagent_tokens, cost_usd: r.cost_usd } }));
  const compared = (ref: Arm) => {
    const c = compareArms(items, ref, { arms: arms.filter((a) => a !== ref), resamples: 200 });
    if (!c.ok) throw new Error(JSON.stringify(c.error));
    return c.value;
  };
  const result = benchResultSchema.parse({ benchmark: "notes", arms, samples: 1, tasks: 2, summary: summarizeArms(items), comparisons: { vs_none: compared("none"), vs_teacher: compared("teacher") }, items: rows });
  return { generatedAt: "2026-11-21", result, traces, notes: [] };
}

describe("the benchmark report, rendered", () => {
  const html = renderBenchHtml(input());
  const md = renderBenchMarkdown(input());

  it("shows one row per arm with its resolve interval, and an unpriced cost as unknown, never $0", () => {
    const rows = [...html.matchAll(/<tr data-arm="(\w+)"><th>\w+<\/th><td>(.*?)<\/td><td class="num">(\d+)<\/td><td class="num">([^<]*)<\/td>/g)].slice(0, 3);
    expect(rows.map((r) => [r[1], r[3], r[4]])).toEqual([
      ["none", "2", "1/2 (50.0%) [9.5%, 90.5%]"],
      ["teacher", "2", "2/2 (100.0%) [34.2%, 100.0%]"],
      ["student", "2", "2/2 (100.0%) [34.2%, 100.0%]"],
    ]);
    // Who played the subagents: the teacher's stand-in is marked, the student is not.
    expect(rows[1]![2]).toContain("runner: scripted-sub <span class=\"standin\">(stand-in: sub.mjs)</span>");
    expect(rows[2]![2]).toBe("runner: student.gguf");
    expect(html).toMatch(/<tr data-arm="student">.*<td class="num" data-metric="cost_usd">unknown<\/td>/);
    expect(html).toMatch(/<tr data-arm="none">.*<td class="num" data-metric="cost_usd">\$0\.0200<\/td>/);
  });

  it("shows each arm against none and against teacher, with intervals and McNemar's p", () => {
    expect(html).toContain('<table class="comparison" id="vs_none">');
    expect(html).toContain('<table class="comparison" id="vs_teacher">');
    const teacherVsNone = /<table class="comparison" id="vs_none">.*?<tr data-arm="teacher">(.*?)<\/tr>/.exec(html)![1]!;
    // One task more resolved of two: +50 points; one discordant task gives p = 1.
    expect(teacherVsNone).toContain("+50.0 pts [");
    expect(teacherVsNone).toContain("1.000 (0 / 1)");
    // Main-agent tokens: 1320 against 2200 on every task, so the interval is a point.
    expect(teacherVsNone).toContain("-40.0% [-40.0%, -40.0%]");
    expect(teacherVsNone).toContain("-880 [-880, -880]");
    const studentVsTeacher = /<table class="comparison" id="vs_teacher">.*?<tr data-arm="student">(.*?)<\/tr>/.exec(html)![1]!;
    expect(studentVsTeacher).toContain("unknown");
  });

  it("draws one point per priced arm and token bars per arm, and says which arms it left out", () => {
    expect([...html.matchAll(/<circle class="point" data-series="(\w+)"/g)].map((m) => m[1])).toEqual(["none", "teacher"]);
    expect(html).toContain("Not plotted, cost unknown: student.");
    expect([...html.matchAll(/<rect class="bar" data-model="(\w+)"/g)].map((m) => m[1])).toEqual(["none", "teacher", "student", "none", "teacher", "student"]);
  });

  it("says the main agent and the teacher are stand-ins, and escapes the task's text", () => {
    expect(html).toContain("The main agent (scripted-main) is a scripted stand-in (main.mjs), not a model.");
    expect(html).toContain("In the teacher arm, the runner subagent (scripted-sub) is a scripted stand-in (sub.mjs), not a model.");
    expect(html).not.toContain("In the student arm");
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<b>seven</b>");
    expect(html).toContain("&lt;script&gt;alert(&quot;t1&quot;)&lt;/script&gt;");
  });

  it("writes the arms table and the comparisons as markdown", () => {
    expect(md).toContain("### sabuild bench: notes");
    expect(md).toContain("> The main agent (scripted-main) is a scripted stand-in (main.mjs), not a model.");
    expect(md).toContain("| none | 1/2 (50.0%) [9.5%, 90.5%] | 2200 | 2.0 | 0.0 | 0.0 | $0.0200 |");
    expect(md).toMatch(/\| student \| 2\/2 \(100\.0%\) \[34\.2%, 100\.0%\] \| 1320 \| 1\.0 \| 1\.0 \| 330 \| unknown \|/);
    expect(md).toContain("Against none (paired by task):");
    expect(md).toMatch(/\| teacher \| 2 \| \+50\.0 pts \[[^\]]+\] \| 1\.000 \| -40\.0% \[-40\.0%, -40\.0%\] \|/);
    expect(md).toContain("Against teacher (paired by task):");
  });
});

const CHROMIUM = "/usr/bin/chromium";

describe("the benchmark report in headless Chromium", () => {
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

  it("loads with no console errors, has a row per arm, and opens a delegation into the subagent's trace", async () => {
    const file = join(tempDir("sabuild-bench-report-"), "index.html");
    writeFileSync(file, renderBenchHtml(input()));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`file://${file}`);
    expect(await page.title()).toBe("sabuild benchmark: notes");
    expect(await page.locator("#arms tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-arm")))).toEqual(["none", "teacher", "student"]);
    expect(await page.locator("svg.chart").count()).toBe(2);

    const task = page.locator('details.task[data-task="t1"]');
    const teacher = task.locator('.trace[data-arm="teacher"]');
    expect(await teacher.isVisible()).toBe(false);
    await task.locator("summary").first().click();
    expect(await teacher.isVisible()).toBe(true);
    expect(await task.locator('.trace[data-arm="none"]').textContent()).toContain("cat note.txt");
    // The delegation sits after the Agent call's result, closed; opened, it shows the subagent's own turns.
    const delegation = teacher.locator('details.delegation[data-subagent="runner"]');
    expect(await delegation.count()).toBe(1);
    const sub = delegation.locator(".subtrace");
    expect(await sub.isVisible()).toBe(false);
    await delegation.locator("summary").click();
    expect(await sub.isVisible()).toBe(true);
    expect(await sub.textContent()).toContain('Bash({"command":"cat note.txt"})');
    expect(await sub.textContent()).toContain("7 <b>seven</b>");
    expect(await delegation.locator("summary").textContent()).toContain("stand-in: sub.mjs");
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    await page.close();
  }, 60_000);
});
