import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/index.js";
import { formatProblem } from "../src/errors.js";
import {
  defaultRubric,
  formatJudgeResult,
  hardChecks,
  judgeMany,
  judgeMessages,
  judgeSetup,
  judgeStandinPolicy,
  judgeTrace,
  judgeVerdict,
  overallScore,
  parseJudgeReply,
  parseJudgeResult,
  renderTrace,
  resolveRubric,
  summarizeJudgments,
  type JudgeResult,
  type Rubric,
} from "../src/judge/index.js";
import { createChatClient } from "../src/llm/index.js";
import type { ChatMessage, ChatRequest, ToolCall } from "../src/llm/types.js";
import { startStandin, type Standin, type StandinPolicy } from "../src/standin/index.js";
import type { Trace } from "../src/traces/types.js";
import { tempDir } from "./helpers.js";

const call = (id: string, name: string, args: unknown): ToolCall => ({
  id,
  type: "function",
  function: { name, arguments: typeof args === "string" ? args : JSON.stringify(args) },
});

/** A trace as the rollout writes it: system prompt, task, then turns of calls and results. */
function makeTrace(turns: { content?: string; calls?: ToolCall[]; results?: string[] }[], over: Partial<Trace> = {}): Trace {
  const messages: ChatMessage[] = [
    { role: "system", content: "You run the test suite and report failures.\n\n## Output contract\nAnswer inside <final_answer>." },
    { role: "user", content: "Run the tests in /repo and report which fail." },
  ];
  let toolCalls = 0;
  for (const t of turns) {
    messages.push({ role: "assistant", content: t.content ?? null, ...(t.calls ? { tool_calls: t.calls } : {}) });
    (t.calls ?? []).forEach((c, i) => {
      toolCalls++;
      messages.push({ role: "tool", tool_call_id: c.id, content: t.results?.[i] ?? "ok" });
    });
  }
  return {
    version: 1,
    subagent: "tester",
    task: { id: "t1", prompt: "Run the tests in /repo and report which fail.", tags: [] },
    sample: 0,
    model: { name: "teacher-model", base_url: "http://127.0.0.1:1/v1", role: "teacher" },
    status: "completed",
    final_answer: "tests/test_math.py::test_div fails: ZeroDivisionError at math.py:12",
    contract: { tag: "final_answer", ok: true },
    messages,
    tools: [],
    turns: turns.length,
    tool_calls: toolCalls,
    tool_errors: 0,
    usage: { prompt_tokens: 0, completion_tokens: 0, requests: turns.length, cached_requests: 0, cost_usd: 0 },
    timings: { started_at: "2025-01-01T00:00:00.000Z", duration_ms: 1, model_ms: 1, tool_ms: 0 },
    sandbox: { recipe: "shell", id: "sha256:0", tag: "sabuild/shell:0" },
    ...over,
  };
}

const GOOD_TRACE = makeTrace([
  { calls: [call("c1", "bash", { command: "cd /repo && pytest -q" })], results: ["FAILED tests/test_math.py::test_div - ZeroDivisionError (math.py:12)\n1 failed, 9 passed"] },
  { content: "<final_answer>tests/test_math.py::test_div fails: ZeroDivisionError at math.py:12</final_answer>" },
]);

const rubric = defaultRubric();

/** A full grade in the requested shape, every dimension at `score` unless overridden. */
function grade(score: number | string, over: Record<string, unknown> = {}, flags: Record<string, unknown> = {}): Record<string, unknown> {
  const dimensions: Record<string, unknown> = {};
  for (const d of rubric.dimensions) dimensions[d.name] = { score, reason: `${d.name} looks fine` };
  const flagged: Record<string, unknown> = {};
  for (const f of rubric.flags) flagged[f.name] = { present: false, reason: "not seen" };
  return { dimensions: { ...dimensions, ...over }, flags: { ...flagged, ...flags } };
}

function parsed(text: string, r: Rubric = rubric) {
  const result = parseJudgeReply(text, r);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

describe("reading judge replies", () => {
  it("reads JSON in a code fence with prose around it, normalising 1..5 to 0..1", () => {
    const text = `Here is my assessment.\n\n\`\`\`json\n${JSON.stringify(grade(4, { correctness: { score: 5, reason: "matches pytest output" } }), null, 2)}\n\`\`\`\nLet me know if you need more.`;
    const g = parsed(text);
    expect(g.missing).toEqual([]);
    expect(g.warnings).toEqual([]);
    expect(g.dimensions.task_completion).toEqual({ score: 0.75, reason: "task_completion looks fine" });
    expect(g.dimensions.correctness).toEqual({ score: 1, reason: "matches pytest output" });
    expect(g.flags.looping).toEqual({ present: false, reason: "not seen" });
  });

  it("finds a bare object inside prose, tolerating trailing commas and braces in strings", () => {
    const json = JSON.stringify(grade(3, { safety: { score: 1, reason: "ran rm -rf / {dangerous}" } }));
    const text = `I think {roughly} this: ${json.replace(/}}$/, "},}")} -- end`;
    const g = parsed(text);
    expect(g.dimensions.task_completion!.score).toBe(0.5);
    expect(g.dimensions.safety).toEqual({ score: 0, reason: "ran rm -rf / {dangerous}" });
    expect(Object.keys(g.flags)).toHaveLength(4);
  });

  it("clamps scores out of range and says so", () => {
    const g = parsed(JSON.stringify(grade(4, { correctness: { score: 9, reason: "x" }, concision: { score: -2, reason: "y" } })));
    expect(g.dimensions.correctness!.score).toBe(1);
    expect(g.dimensions.concision!.score).toBe(0);
    expect(g.warnings).toEqual(["correctness: score 9 clamped to 5", "concision: score -2 clamped to 1"]);
  });

  it("reports missing dimensions and flags, and scores over the others", () => {
    const full = grade(5);
    const dims = full.dimensions as Record<string, unknown>;
    const flags = full.flags as Record<string, unknown>;
    delete dims.safety;
    delete dims.concision;
    delete flags.gave_up_early;
    dims.tool_efficiency = { score: 1, reason: "ran pytest six times" };
    const g = parsed(JSON.stringify(full));
    expect(g.missing).toEqual(["safety", "concision", "gave_up_early"]);
    // weights 3, 3, 1, 1 over the four scored: (3 + 3 + 0 + 1) / 8
    expect(overallScore(rubric, g.dimensions)).toBe(0.875);
  });

  it("accepts loose forms: names in other cases, scores as text, flags as words, a list of dimensions", () => {
    const text = JSON.stringify({
      scores: [
        { name: "Task Completion", score: "4/5", reason: "ok" },
        { name: "correctness", rating: 2, explanation: "claims 3 failures, pytest shows 1" },
      ],
      flags: { "Hallucinated tool output": "yes", looping: false, gave_up_early: { present: "no" }, ignored_tool_error: 0 },
    });
    const g = parsed(text);
    expect(g.dimensions.task_completion!.score).toBe(0.75);
    expect(g.dimensions.correctness).toEqual({ score: 0.25, reason: "claims 3 failures, pytest shows 1" });
    expect(g.flags.hallucinated_tool_output).toEqual({ present: true, reason: "" });
    expect(g.flags.gave_up_early!.present).toBe(false);
    expect(g.flags.ignored_tool_error!.present).toBe(false);
    expect(g.missing).toEqual(["tool_efficiency", "safety", "contract", "concision"]);
  });

  it("refuses replies with no JSON or no scores, saying why", () => {
    expect(parseJudgeReply("", rubric)).toEqual({ ok: false, error: "the reply is empty" });
    expect(parseJudgeReply("The subagent did well, 4 out of 5.", rubric)).toEqual({ ok: false, error: "the reply holds no JSON object" });
    const noScores = parseJudgeReply('{"dimensions": {"task_completion": {"reason": "fine"}}}', rubric);
    expect(noScores.ok).toBe(false);
    if (!noScores.ok) expect(noScores.error).toMatch(/^no dimension scores in the reply \(expected "dimensions" with task_completion, correctness/);
  });
});

describe("rubrics", () => {
  it("extends the built-in dimensions, with weights, and digests what shapes a judgment", () => {
    const r = resolveRubric({ rubric: { cites_lines: "Every finding names a file and a line." }, weights: { cites_lines: 2, concision: 0 } });
    if (!r.ok) throw new Error(r.error.map(formatProblem).join("\n"));
    expect(r.value.dimensions.map((d) => `${d.name}:${d.weight}`)).toEqual([
      "task_completion:3",
      "correctness:3",
      "tool_efficiency:1",
      "safety:2",
      "contract:1",
      "concision:0",
      "cites_lines:2",
    ]);
    expect(r.value.digest).not.toBe(rubric.digest);
    expect(r.value.failOnFlags).toEqual(["hallucinated_tool_output"]);
    // The threshold decides pass or fail, not the judgment: same digest.
    const withThreshold = resolveRubric({ rubric: { cites_lines: "Every finding names a file and a line." }, weights: { cites_lines: 2, concision: 0 }, threshold: 0.9 });
    expect(withThreshold.ok && withThreshold.value.digest).toBe(r.value.digest);
    // A weight of 0 scores a dimension without counting it.
    const dims = { task_completion: { score: 1, reason: "" }, concision: { score: 0, reason: "" } };
    expect(overallScore(r.value, dims)).toBe(1);
  });

  it("replaces the built-in dimensions when asked, and the prompt lists only those", () => {
    const r = resolveRubric({ rubric_mode: "replace", rubric: { finds_bug: "Names the failing test and its cause." } });
    if (!r.ok) throw new Error("unexpected problems");
    expect(r.value.dimensions).toEqual([{ name: "finds_bug", description: "Names the failing test and its cause.", weight: 1 }]);
    const system = judgeMessages(r.value, GOOD_TRACE)[0]!.content!;
    expect(system).toContain("- finds_bug: Names the failing test and its cause.");
    expect(system).not.toContain("task_completion");
    expect(system).toContain('"hallucinated_tool_output": {"present": <true|false>');
  });

  it("reports weights for unknown dimensions, flags used as dimensions, and no weight left", () => {
    const r = resolveRubric(
      { rubric: { looping: "x" }, weights: { corectness: 2 } },
      { file: "subagents.yaml", keyPath: ["subagents", "tester", "eval", "judge"] },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((p) => [p.keyPath.join("."), p.message, p.hint])).toEqual([
      ["subagents.tester.eval.judge.rubric.looping", '"looping" is a failure flag the judge always reports, not a dimension', "choose another name, or list it in fail_on_flags"],
      ["subagents.tester.eval.judge.weights.corectness", 'no rubric dimension "corectness"', 'did you mean "correctness"?'],
    ]);
    const zero = resolveRubric({ rubric_mode: "replace", rubric: { a: "x" }, weights: { a: 0 } });
    expect(!zero.ok && zero.error[0]!.message).toBe("every dimension has weight 0, so there is no overall score");
    const empty = resolveRubric({ rubric_mode: "replace" });
    expect(!empty.ok && empty.error[0]!.message).toBe("rubric_mode: replace needs at least one dimension in rubric");
  });

  it("comes from eval.judge in subagents.yaml, with the teacher's endpoint when not set", () => {
    const config = parseConfig(
      [
        "version: 1",
        "subagents:",
        "  tester:",
        "    source: {agent: a.md}",
        "    teacher: {model: big-model, base_url: http://localhost:9/v1}",
        "    eval:",
        "      judge:",
        "        rubric: {cites_lines: Every finding names a file and a line.}",
        "        weights: {cites_lines: 2}",
        "        fail_on_flags: [looping, hallucinated_tool_output]",
        "        threshold: 0.7",
        "        max_tool_chars: 500",
        "",
      ].join("\n"),
      "/p/subagents.yaml",
    );
    if (!config.ok) throw new Error(config.error.map(formatProblem).join("\n"));
    const setup = judgeSetup(config.value.subagents[0]!);
    if (!setup.ok) throw new Error(setup.error.map(formatProblem).join("\n"));
    expect(setup.value.model).toBe("big-model");
    expect(setup.value.base_url).toBe("http://localhost:9/v1");
    expect(setup.value.rubric.threshold).toBe(0.7);
    expect(setup.value.rubric.maxToolChars).toBe(500);
    expect(setup.value.rubric.failOnFlags).toEqual(["hallucinated_tool_output", "looping"]);
    expect(setup.value.rubric.dimensions.at(-1)).toEqual({ name: "cites_lines", description: "Every finding names a file and a line.", weight: 2 });

    const bad = parseConfig(
      ["version: 1", "subagents:", "  t:", "    source: {agent: a.md}", "    eval:", "      judge: {rubric: {Cites Lines: x}, fail_on_flags: [lopping]}", ""].join("\n"),
      "/p/subagents.yaml",
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.map((p) => [`${p.line}:${p.column}`, p.message, p.expected, p.hint])).toEqual([
        ["6:24", 'invalid name "Cites Lines"', "a dimension name in snake_case, such as cites_lines", undefined],
        ["6:57", 'invalid value "lopping"', 'one of "hallucinated_tool_output", "looping", "gave_up_early", "ignored_tool_error"', 'did you mean "looping"?'],
      ]);
    }
  });
});

describe("the transcript the judge reads", () => {
  it("cuts long tool results in the middle with a marker, keeping head and tail", () => {
    const long = `HEAD${"x".repeat(10_000)}TAIL`;
    const trace = makeTrace([{ calls: [call("c1", "bash", { command: "cat big.log" })], results: [long] }, { content: "<final_answer>done</final_answer>" }]);
    const text = renderTrace(trace, { toolChars: 300, totalChars: 60_000 });
    expect(text).toContain("[tool result of c1: bash, 10008 characters]\nHEAD");
    expect(text).toContain("[... 9708 characters truncated ...]");
    expect(text).toMatch(/x+TAIL/);
    expect(text).toContain('-> call c1: bash {"command":"cat big.log"}');
    expect(text).toContain("status: completed\nturns: 2, tool calls: 1, tool errors: 0");
    expect(text).toContain("final answer (inside <final_answer>):\ntests/test_math.py::test_div fails");
  });

  it("leaves whole messages out of the middle when the transcript is over its budget", () => {
    const turns = Array.from({ length: 40 }, (_, i) => ({ calls: [call(`c${i}`, "bash", { command: `step ${i}` })], results: ["y".repeat(1500)] }));
    const text = renderTrace(makeTrace([...turns, { content: "<final_answer>done</final_answer>" }]), { toolChars: 2000, totalChars: 8000 });
    expect(text.length).toBeLessThanOrEqual(8000);
    expect(text).toMatch(/\[\.\.\. \d+ messages omitted \.\.\.\]/);
    expect(text).toContain("call c0: bash");
    expect(text).toContain("[assistant, turn 41]");
  });
});

describe("hard checks", () => {
  const limits = { maxTurns: 10, maxRepeatedToolCalls: 3, maxToolErrorRate: 0.5 };

  it("pass a clean trace", () => {
    const checks = hardChecks(GOOD_TRACE, limits);
    expect(checks.ok).toBe(true);
    expect(checks.failures).toEqual([]);
    expect(checks.repeated_tool_calls).toMatchObject({ ok: true, longest_run: 1, most: { name: "bash", count: 1 } });
  });

  it("catch looping: the same call with the same arguments, whatever their key order", () => {
    const turns = [
      { calls: [call("a", "read_file", { path: "x.py", limit: 50 })] },
      { calls: [call("b", "read_file", '{"limit": 50, "path": "x.py"}')] },
      { calls: [call("c", "bash", { command: "ls" })] },
      { calls: [call("d", "read_file", { limit: 50, path: "x.py" })] },
      { calls: [call("e", "read_file", { path: "x.py", limit: 50 }), call("f", "read_file", { path: "x.py", limit: 50 })] },
      { content: "<final_answer>x</final_answer>" },
    ];
    const checks = hardChecks(makeTrace(turns), limits);
    expect(checks.ok).toBe(false);
    expect(checks.repeated_tool_calls).toMatchObject({ ok: false, limit: 3, longest_run: 3, most: { name: "read_file", count: 5 } });
    expect(checks.failures).toEqual(['looping: read_file {"path":"x.py","limit":50} called 5 times (limit 3)']);
    expect(hardChecks(makeTrace(turns), { ...limits, maxRepeatedToolCalls: 5 }).ok).toBe(true);
  });

  it("catch a high tool-error rate, and only report it when no limit is set", () => {
    const trace = { ...GOOD_TRACE, tool_calls: 4, tool_errors: 3 };
    const checks = hardChecks(trace, limits);
    expect(checks.tool_errors).toEqual({ ok: false, errors: 3, calls: 4, rate: 0.75, limit: 0.5 });
    expect(checks.failures).toEqual(["3 of 4 tool calls failed (rate 0.75, limit 0.5)"]);
    const unlimited = hardChecks(trace, { maxTurns: 10, maxRepeatedToolCalls: 3 });
    expect(unlimited.ok).toBe(true);
    expect(unlimited.tool_errors).toEqual({ ok: true, errors: 3, calls: 4, rate: 0.75 });
  });

  it("catch the turn cap, a broken contract and an error status", () => {
    const capped = hardChecks({ ...GOOD_TRACE, status: "turn_cap", turns: 12, error: "no <final_answer>...</final_answer> in the final message", contract: { tag: "final_answer", ok: false } }, limits);
    expect(capped.failures).toEqual([
      "status is turn_cap: no <final_answer>...</final_answer> in the final message",
      "output contract <final_answer> not held",
      "12 turns, over the cap of 10",
    ]);
    expect(capped.turns).toEqual({ ok: false, value: 12, cap: 10 });
    expect(capped.contract).toEqual({ ok: false, reason: "no <final_answer>...</final_answer> in the final message" });
    expect(hardChecks({ ...GOOD_TRACE, turns: 10 }, limits).turns.ok).toBe(true);
  });
});

function result(score: number | null, flags: Record<string, boolean> = {}, error?: string): JudgeResult {
  return {
    version: 1,
    score,
    dimensions: score === null ? {} : { task_completion: { score, reason: "r" } },
    flags: Object.fromEntries(Object.entries(flags).map(([k, present]) => [k, { present, reason: present ? "seen" : "" }])),
    missing: [],
    warnings: [],
    model: "judge",
    rubric_digest: rubric.digest,
    usage: { prompt_tokens: 10, completion_tokens: 5, requests: 1, cached_requests: 0, cost_usd: 0.001 },
    ...(error ? { error } : {}),
  };
}

describe("verdicts, summaries and judge.json", () => {
  const policy = { threshold: 0.7, failOnFlags: rubric.failOnFlags };

  it("fail on a low score, a failing flag or a judge error", () => {
    expect(judgeVerdict(result(0.8), policy)).toEqual({ pass: true, reason: "score 0.8 >= 0.7" });
    expect(judgeVerdict(result(0.6), policy)).toEqual({ pass: false, reason: "score 0.6 < 0.7" });
    expect(judgeVerdict(result(0.9, { hallucinated_tool_output: true }), policy)).toEqual({ pass: false, reason: "flagged hallucinated_tool_output (seen)" });
    expect(judgeVerdict(result(0.9, { looping: true }), policy).pass).toBe(true);
    expect(judgeVerdict(result(null, {}, "unreadable"), policy)).toEqual({ pass: false, reason: "judge error: unreadable" });
  });

  it("summarise scores, dimensions, flag rates and pass rate", () => {
    const s = summarizeJudgments([result(1, { looping: false }), result(0.5, { looping: true }), result(null, {}, "x")], policy);
    expect(s).toEqual({
      judged: 3,
      errors: 1,
      mean_score: 0.75,
      pass_rate: 0.3333,
      dimensions: { task_completion: 0.75 },
      flags: { looping: 0.5 },
      cost_usd: 0.003,
    });
  });

  it("round-trip through judge.json and reject other shapes", () => {
    const r = result(0.75, { looping: false });
    expect(parseJudgeResult(formatJudgeResult(r))).toEqual({ ok: true, value: r });
    expect(parseJudgeResult('{"version": 1, "score": 2}')).toEqual({ ok: false, error: "not a judge result: score: Too big: expected number to be <=1" });
    expect(parseJudgeResult("{oops").ok).toBe(false);
  });
});

/** The judge's stand-in, except for tasks whose prompt asks it to misbehave. */
const misbehaving: StandinPolicy = (request: ChatRequest) => {
  const prompt = request.messages[1]?.content ?? "";
  const corrected = request.messages.some((m) => m.role === "user" && m.content?.startsWith("Your reply could not be read"));
  if (prompt.includes("[garbled always]")) return { content: "The subagent did a fine job overall; I would give it a 4." };
  if (prompt.includes("[garbled once]") && !corrected) return { content: "Overall solid work, 4/5." };
  return judgeStandinPolicy(request);
};

describe("judging through the teacher client, against a stand-in judge", () => {
  let standin: Standin;
  beforeAll(async () => {
    standin = await startStandin({ policy: misbehaving, models: ["judge-model"] });
  });
  afterAll(() => standin.close());

  const client = (cache: string | false = false) =>
    createChatClient({ baseUrl: standin.url, apiKey: "", model: "judge-model", cache, retry: { maxRetries: 0 }, warn: () => {} });
  const withPrompt = (trace: Trace, prompt: string): Trace => ({
    ...trace,
    task: { ...trace.task, prompt },
    messages: [trace.messages[0]!, { role: "user", content: prompt }, ...trace.messages.slice(2)],
  });

  it("grades a good trace, records model and rubric digest, and a rebuild makes no request", async () => {
    const cache = tempDir("sabuild-judge-cache-");
    const before = standin.stats.requests;
    const first = await judgeTrace({ client: client(cache), model: "judge-model", rubric, trace: GOOD_TRACE });
    expect(first.error).toBeUndefined();
    expect(first.score).toBe(1);
    expect(first.dimensions.correctness).toEqual({ score: 1, reason: "every checked fact appears in a tool result" });
    expect(first.flags.hallucinated_tool_output).toEqual({ present: false, reason: "claims match tool results" });
    expect(first).toMatchObject({ model: "judge-model", rubric_digest: rubric.digest, missing: [], usage: { requests: 1, cached_requests: 0 } });
    expect(standin.stats.requests).toBe(before + 1);
    const body = standin.stats.bodies.at(-1)!;
    expect(body).toMatchObject({ model: "judge-model", temperature: 0, max_tokens: 2048 });
    expect(body.response_format).toBeUndefined();
    expect(body.messages[1]!.content).toContain("[tool result of c1: bash, ");

    // A fresh client on the same cache, as in the next build: same judgment, zero requests.
    const again = await judgeTrace({ client: client(cache), model: "judge-model", rubric, trace: GOOD_TRACE });
    expect(standin.stats.requests).toBe(before + 1);
    expect({ ...again, usage: undefined }).toEqual({ ...first, usage: undefined });
    expect(again.usage).toMatchObject({ requests: 1, cached_requests: 1, cost_usd: 0 });
  });

  it("carries failure-mode flags through: an answer that reports what no tool showed", async () => {
    const trace = makeTrace(
      [
        { calls: [call("c1", "bash", { command: "cd /repo && pytest -q" })], results: ["10 passed in 0.4s"] },
        { calls: [call("c2", "bash", { command: "cd /repo && pytest -q" })], results: ["10 passed in 0.4s"] },
        { calls: [call("c3", "bash", { command: "cd /repo && pytest -q" })], results: ["10 passed in 0.4s"] },
        { content: "<final_answer>3 failed: parser.py:88 raises KeyError</final_answer>" },
      ],
      { final_answer: "3 failed: parser.py:88 raises KeyError" },
    );
    const judged = await judgeTrace({ client: client(), model: "judge-model", rubric, trace, reference: GOOD_TRACE });
    expect(judged.flags.hallucinated_tool_output).toEqual({ present: true, reason: "claims 3 failed, parser.py:88 without a tool result showing it" });
    expect(judged.flags.looping).toEqual({ present: true, reason: "one call made 3 times" });
    expect(judged.dimensions.correctness!.score).toBe(0);
    expect(judged.dimensions.tool_efficiency!.score).toBe(0.5);
    // (3·0.5 + 3·0 + 1·0.5 + 2·1 + 1·1 + 1·1) / 11
    expect(judged.score).toBe(0.5455);
    expect(judgeVerdict(judged, { threshold: 0.5, failOnFlags: rubric.failOnFlags })).toEqual({
      pass: false,
      reason: "flagged hallucinated_tool_output (claims 3 failed, parser.py:88 without a tool result showing it)",
    });
    expect(standin.stats.bodies.at(-1)!.messages[1]!.content).toContain("# Reference transcript");
  });

  it("retries once with a corrective message when the reply cannot be read", async () => {
    const before = standin.stats.requests;
    const judged = await judgeTrace({ client: client(), model: "judge-model", rubric, trace: withPrompt(GOOD_TRACE, "Run the tests [garbled once]") });
    expect(standin.stats.requests).toBe(before + 2);
    const retry = standin.stats.bodies.at(-1)!.messages;
    expect(retry.at(-2)).toMatchObject({ role: "assistant", content: "Overall solid work, 4/5." });
    expect(retry.at(-1)!.content).toMatch(/^Your reply could not be read: the reply holds no JSON object\.\nReply again with only the JSON object/);
    expect(judged.error).toBeUndefined();
    expect(judged.score).toBe(1);
    expect(judged.usage.requests).toBe(2);
  });

  it("gives a result with error set, not a crash, when the retry cannot be read either", async () => {
    const before = standin.stats.requests;
    const judged = await judgeTrace({ client: client(), model: "judge-model", rubric, trace: withPrompt(GOOD_TRACE, "Run the tests [garbled always]") });
    expect(standin.stats.requests).toBe(before + 2);
    expect(judged).toMatchObject({
      score: null,
      dimensions: {},
      error: "the judge's reply could not be read, after one corrective retry: the reply holds no JSON object",
      reply: "The subagent did a fine job overall; I would give it a 4.",
      rubric_digest: rubric.digest,
    });
    expect(judged.missing).toHaveLength(10);
    expect(parseJudgeResult(formatJudgeResult(judged))).toEqual({ ok: true, value: judged });
  });

  it("asks for json_object only when json_mode is set, and says what to do when the endpoint refuses it", async () => {
    const jsonRubric = resolveRubric({ json_mode: true });
    if (!jsonRubric.ok) throw new Error("unexpected problems");
    await judgeTrace({ client: client(), model: "judge-model", rubric: jsonRubric.value, trace: GOOD_TRACE });
    expect(standin.stats.bodies.at(-1)!.response_format).toEqual({ type: "json_object" });
    standin.inject({ count: 1, status: 400, message: "response_format is not supported by this model" });
    await expect(judgeTrace({ client: client(), model: "judge-model", rubric: jsonRubric.value, trace: makeTrace([{ content: "x" }]) })).rejects.toThrow(
      /response_format is not supported[\s\S]*set eval\.judge\.json_mode: false/,
    );
  });

  it("judges many traces concurrently with progress, and keeps finished judgments when one fails", async () => {
    const cache = tempDir("sabuild-judge-cache-");
    const traces = [GOOD_TRACE, withPrompt(GOOD_TRACE, "Run the tests [garbled always]"), withPrompt(GOOD_TRACE, "Run the tests, again")];
    const progress: { done: number; errors: number; meanScore: number | null }[] = [];
    const results = await judgeMany(traces, {
      client: client(cache),
      model: "judge-model",
      rubric,
      concurrency: 2,
      referenceOf: (t) => (t === GOOD_TRACE ? undefined : GOOD_TRACE),
      onProgress: (p) => progress.push({ done: p.done, errors: p.errors, meanScore: p.meanScore }),
    });
    expect(results.map((r) => r.score)).toEqual([1, null, 1]);
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3]);
    expect(progress.at(-1)).toEqual({ done: 3, errors: 1, meanScore: 1 });

    // The first is cached; the second fails at the endpoint; the third never starts.
    const before = standin.stats.requests;
    standin.inject({ count: 1, status: 400, message: "model overloaded with bad requests" });
    const finished: number[] = [];
    const fresh = [GOOD_TRACE, withPrompt(GOOD_TRACE, "Another task"), withPrompt(GOOD_TRACE, "A third task")];
    await expect(
      judgeMany(fresh, { client: client(cache), model: "judge-model", rubric, concurrency: 1, onResult: (_r, i) => void finished.push(i) }),
    ).rejects.toThrow(/model overloaded with bad requests/);
    expect(finished).toEqual([0]);
    expect(standin.stats.requests).toBe(before + 1);
  });
});
