import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatRequest } from "../src/llm/types.js";
import { calibrate } from "../src/route/calibrate.js";
import { costQualityCurve, interp, routeLlmFigures } from "../src/route/curve.js";
import type { RoutePolicy } from "../src/route/policy.js";
import { openRouter, routerFile } from "../src/route/router.js";
import { writeThreshold } from "../src/route/write-threshold.js";
import { renderReportHtml } from "../src/report/html.js";
import { renderReportMarkdown } from "../src/report/markdown.js";
import { startGateway, type Gateway, type StudentRoute } from "../src/serve/gateway.js";
import { routeAgentRun } from "../src/serve/mcp-route.js";
import { startStandin, type Standin } from "../src/standin/server.js";

const lastUser = (req: ChatRequest): string => [...req.messages].reverse().find((m) => m.role === "user")?.content ?? "";

const OUTCOMES = [
  { id: "a", text: "rename the variable count in parser.py", success: true },
  { id: "b", text: "rename the function load in config.py", success: true },
  { id: "c", text: "rename the class Reader in io.py", success: true },
  { id: "d", text: "debug the flaky network retry under load", success: false },
  { id: "e", text: "debug the intermittent network timeout in the client", success: false },
  { id: "f", text: "debug the race in the network pool", success: false },
].map((o) => ({ ...o, source: "eval" as const }));

describe("the learned router (kNN over BM25)", () => {
  const router = openRouter(routerFile(OUTCOMES));
  it("scores a task like past successes high, like past failures low, unlike anything at the base rate", () => {
    expect(router.score("rename the variable total in parser.py")).toBeGreaterThan(0.6);
    expect(router.score("debug the flaky network timeout")).toBeLessThan(0.4);
    expect(router.score("zzz qqq")).toBeCloseTo(0.5, 5);
  });
  it("leaves a task's own outcome out when asked (leave-one-out for the curve)", () => {
    const without = openRouter(routerFile(OUTCOMES.filter((o) => o.id !== "a"))).score(OUTCOMES[0]!.text);
    expect(router.scoreWithout(OUTCOMES[0]!.text, "a")).toBeCloseTo(without, 1);
  });
});

describe("the cost-quality curve and RouteLLM's figures", () => {
  it("computes APGR as the normalised area and CPT by np.interp, as routellm/evals/evaluate.py does", () => {
    const f = routeLlmFigures(
      [
        { strongPct: 100, accuracy: 1 },
        { strongPct: 0, accuracy: 0.5 },
        { strongPct: 50, accuracy: 0.9 },
      ],
      0.5,
      1,
    );
    // AUC = 0.5*(0.5+0.9)/2 + 0.5*(0.9+1)/2 = 0.825; (0.825 - 0.5) / (1 - 0.5)
    expect(f.apgr).toBeCloseTo(0.65, 10);
    expect(f.cpt50).toBeCloseTo(31.25, 10);
    expect(f.cpt80).toBeCloseTo(50, 10);
    expect(interp(5, [0, 1], [0, 10])).toBe(10);
    expect(routeLlmFigures([{ strongPct: 0, accuracy: 0.5 }], 0.5, 0.5).apgr).toBeNull();
  });

  it("runs from all-student at threshold 0 towards all-teacher at 1, with cost per task and escalated share", () => {
    const tasks = [
      { score: 0.9, student: true, teacher: true },
      { score: 0.2, student: false, teacher: true },
      { score: 0.4, student: false, teacher: false },
      { score: 0.7, student: true, teacher: true },
    ];
    const curve = costQualityCurve(tasks, { student: 0, teacher: 0.01 });
    expect(curve.points[0]).toMatchObject({ threshold: 0, escalated: 0, success: 0.5, cost_per_task_usd: 0 });
    expect(curve.points.at(-1)).toMatchObject({ threshold: 1, escalated: 1, success: 0.75, cost_per_task_usd: 0.01 });
    expect(curve.points.find((p) => p.threshold === 0.3)).toMatchObject({ escalated: 0.25, success: 0.75 });
    // Points (share %, success): (0, .5), (25, .75), (50, .75), (75, .75), (100, .75); AUC .71875 between .5 and .75.
    expect(curve.apgr).toBeCloseTo(0.875, 10);
    expect(calibrate(curve, { maxEscalation: 0.3 })).toMatchObject({ escalated: 0.25, success: 0.75 });
    expect(calibrate(curve, { minSuccess: 0.7 })).toMatchObject({ escalated: 0.25 });
    expect(calibrate(curve, { minSuccess: 0.9 })).toMatch(/no threshold reaches success 0.9 .*best is 0.750/);
  });

  it("shows on the report page and in its markdown summary", () => {
    const curve = costQualityCurve([{ score: 0.9, student: true, teacher: true }, { score: 0.2, student: false, teacher: true }], { student: 0, teacher: 0.01 });
    const input = { subagent: "searcher", generatedAt: "2026-12-06", stages: [], traces: {}, notes: [], routing: curve };
    const md = renderReportMarkdown(input);
    expect(md).toMatch(/Learned router: APGR [\d.]+, CPT\(50%\) [\d.]+% to the teacher, CPT\(80%\) [\d.]+% to the teacher over 2 eval tasks/);
    expect(md).toContain("| 0.5 | 50.0% | 100.0% | $0.00500 |");
    const html = renderReportHtml(input);
    expect(html).toContain("<h2>Routing</h2>");
    expect(html).toContain('data-series="router"');
    // Without a benchmark the main-agent tokens are n/a, with the reason.
    expect(md).toContain("Main-agent tokens: n/a (not computed).");
  });

  it("mixes the benchmarks' main-agent tokens in each point's share to the teacher, and the report shows them", () => {
    const tokens = { benchmarks: ["fix-bugs"], tasks: 3, student: 1000, teacher: 1400, none: 2000 };
    const curve = costQualityCurve([{ score: 0.9, student: true, teacher: true }, { score: 0.2, student: false, teacher: true }], { student: 0, teacher: 0.01 }, tokens);
    expect(curve.main_agent_tokens_source).toEqual(tokens);
    expect(curve.main_agent_tokens_missing).toBeUndefined();
    expect(curve.points[0]!.main_agent_tokens).toBe(1000);
    expect(curve.points.find((p) => p.threshold === 0.5)!.main_agent_tokens).toBe(1200);
    expect(curve.points.at(-1)!.main_agent_tokens).toBe(1400);
    const missing = costQualityCurve([{ score: 0.9, student: true, teacher: true }], { student: 0, teacher: 0.01 }, { missing: "no benchmark offers searcher" });
    expect(missing.main_agent_tokens_source).toBeNull();
    expect(missing.main_agent_tokens_missing).toBe("no benchmark offers searcher");
    expect(missing.points.every((p) => p.main_agent_tokens === null)).toBe(true);
    const md = renderReportMarkdown({ subagent: "searcher", generatedAt: "2026-12-06", stages: [], traces: {}, notes: [], routing: curve });
    expect(md).toContain("Main-agent tokens per task from fix-bugs (3 tasks in both arms): 1000 with the student, 1400 with the teacher; 2000 with no subagent.");
    expect(md).toContain("| 0.5 | 50.0% | 100.0% | $0.00500 | 1200 |");
    expect(renderReportHtml({ subagent: "searcher", generatedAt: "2026-12-06", stages: [], traces: {}, notes: [], routing: curve })).toContain('<td class="num">1200</td>');
  });

  it("writes the threshold into subagents.yaml and keeps its comments", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "sabuild-route-")), "subagents.yaml");
    writeFileSync(file, "version: 1\n# the one subagent\nsubagents:\n  searcher: # finds code\n    source: {agent: a.md}\n    route:\n      policy: learned # trained on eval\n");
    await writeThreshold(file, "searcher", 0.35);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# the one subagent");
    expect(text).toContain("# finds code");
    expect(text).toContain("policy: learned # trained on eval");
    expect(text).toMatch(/route:\n {6}policy: learned # trained on eval\n {6}threshold: 0.35\n/);
  });
});

describe("gateway routing policies", () => {
  let student: Standin;
  let teacher: Standin;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    // The student: a good answer, sure of itself, unless the prompt asks otherwise.
    student = await startStandin({
      policy: (req) => {
        const text = lastUser(req);
        if (/break/.test(text)) return { content: "somewhere in utils", logprobs: [-0.05, -0.05] };
        if (/unsure/.test(text)) return { content: "<final_answer>maybe src/a.py</final_answer>", logprobs: [-1.5, -2, -0.9] };
        if (/vague/.test(text)) return { content: "<final_answer>it is somewhere</final_answer>", logprobs: [-0.01] };
        if (/loop/.test(text)) return { tool_calls: [{ name: "Grep", arguments: { pattern: "x" } }], logprobs: [-0.01] };
        return { content: `<final_answer>student: ${text}</final_answer>`, logprobs: [-0.01, -0.02, -0.05] };
      },
    });
    teacher = await startStandin({ policy: (req) => ({ content: `<final_answer>teacher: ${lastUser(req)}</final_answer>` }) });
  });
  afterAll(async () => {
    await Promise.all([...gateways.map((g) => g.close()), student?.close(), teacher?.close()]);
  });

  const policy = (p: Partial<RoutePolicy> & Pick<RoutePolicy, "name">): RoutePolicy => ({ escalateOn: new Set(["error", "timeout", "contract"]), checks: { contract: true, combine: "any" }, threshold: 0.5, ...p });
  const warnings: string[] = [];
  async function gateway(route: Partial<StudentRoute>): Promise<OpenAI> {
    const g = await startGateway({
      students: [{ name: "searcher", baseUrl: student.url, model: "student", timeoutMs: 5000, contractTag: "final_answer", ...route }],
      teacher: { baseUrl: teacher.url, model: "big", timeoutMs: 5000, pricing: { input_per_mtok: 2, output_per_mtok: 8 } },
      warn: (l) => warnings.push(l),
    });
    gateways.push(g);
    return new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "unused", maxRetries: 0 });
  }
  const metricsOf = async (): Promise<string> => (await fetch(`${gateways.at(-1)!.url}/metrics`)).text();
  async function ask(client: OpenAI, content: string, extra: ChatRequest["messages"] = []) {
    const r = await client.chat.completions.create({ model: "subagent/searcher", messages: [{ role: "user", content }, ...(extra as [])] }).withResponse();
    const body = r.data as unknown as { sabuild: { answered_by: string; route_reason: string; route_detail?: string; router_score?: number; confidence?: number }; choices: { logprobs?: unknown }[] };
    return { who: r.response.headers.get("x-sabuild-answered-by"), reason: r.response.headers.get("x-sabuild-route-reason"), body };
  }
  // Judged by content: a vague answer scores low (the gateway's part is when it asks and what it does with the score).
  const judge = async (_messages: unknown[], answer: string): Promise<number> => (/somewhere/.test(answer) ? 0.2 : 0.9);
  const judgeLoopLimits = { maxTurns: 10, maxRepeatedToolCalls: 2 };

  it("cascade: answers from the student when every check passes, and escalates on each failing check with its reason", async () => {
    const client = await gateway({ policy: policy({ name: "cascade", checks: { contract: true, hardChecks: judgeLoopLimits, minConfidence: 0.6, minJudgeScore: 0.5, combine: "any" } }), judge });
    const good = await ask(client, "where is retry");
    expect(good).toMatchObject({ who: "student", reason: "passed" });
    expect(good.body.sabuild.confidence).toBeGreaterThan(0.9);
    // The gateway asked for log-probabilities; the client did not, so they are not passed on.
    expect(student.stats.bodies.at(-1)!).toMatchObject({ logprobs: true });
    expect(good.body.choices[0]!.logprobs ?? null).toBeNull();

    expect(await ask(client, "break it")).toMatchObject({ who: "teacher", reason: "contract" });
    const unsure = await ask(client, "unsure where");
    expect(unsure).toMatchObject({ who: "teacher", reason: "confidence" });
    expect(unsure.body.sabuild.route_detail).toMatch(/mean token probability 0\.2\d+ < 0\.6/);
    expect(await ask(client, "vague please")).toMatchObject({ who: "teacher", reason: "judge" });
    const call = { id: "c1", type: "function" as const, function: { name: "Grep", arguments: '{"pattern":"x"}' } };
    const looping = [
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", tool_call_id: "c1", content: "nothing" },
      { role: "assistant", content: null, tool_calls: [{ ...call, id: "c2" }] },
      { role: "tool", tool_call_id: "c2", content: "nothing" },
    ] as ChatRequest["messages"];
    expect(await ask(client, "loop again", looping)).toMatchObject({ who: "teacher", reason: "hard-checks" });
    // A first tool call is not a loop, and a non-final turn is not held to the contract or judged.
    expect(await ask(client, "loop once")).toMatchObject({ who: "student", reason: "passed" });
  });

  it("cascade with combine: all escalates only when every configured check fails", async () => {
    const client = await gateway({ policy: policy({ name: "cascade", checks: { contract: true, minConfidence: 0.6, combine: "all" } }) });
    expect(await ask(client, "break it")).toMatchObject({ who: "student", reason: "passed" });
    expect(await ask(client, "unsure where")).toMatchObject({ who: "student", reason: "passed" });
  });

  it("learned: the router sends tasks like past failures to the teacher without asking the student, and the rest to the student", async () => {
    const router = openRouter(routerFile(OUTCOMES));
    const client = await gateway({ policy: policy({ name: "learned", threshold: 0.5 }), router });
    const easy = await ask(client, "rename the variable total in parser.py");
    expect(easy).toMatchObject({ who: "student", reason: "passed" });
    expect(easy.body.sabuild.router_score).toBeGreaterThan(0.5);
    const before = student.stats.requests;
    const hard = await ask(client, "debug the flaky network timeout");
    expect(hard).toMatchObject({ who: "teacher", reason: "router" });
    expect(hard.body.sabuild.router_score).toBeLessThan(0.5);
    expect(student.stats.requests).toBe(before);
    // The student's own failures still reach the teacher under a learned policy.
    expect(await ask(client, "rename and break it")).toMatchObject({ who: "teacher", reason: "contract" });
  });

  it("student: the student's answer whatever it is (502 when it errors); teacher: the teacher, the student never asked", async () => {
    const s = await gateway({ policy: policy({ name: "student" }) });
    expect(await ask(s, "break it")).toMatchObject({ who: "student", reason: "policy" });
    student.inject({ count: 1, status: 500 });
    // Even a failure says why: the student errored and the policy has no one else to ask.
    const failed = await ask(s, "x").catch((e: { status: number; headers: Headers }) => e);
    expect(failed).toMatchObject({ status: 502 });
    expect((failed as { headers: Headers }).headers.get("x-sabuild-route-reason")).toBe("error");
    const t = await gateway({ policy: policy({ name: "teacher" }) });
    const before = student.stats.requests;
    expect(await ask(t, "where is retry")).toMatchObject({ who: "teacher", reason: "policy" });
    expect(student.stats.requests).toBe(before);
  });

  it("/metrics per subagent: escalations by reason, contract breaks, latency by who answered, money saved, router scores; a drift warning", async () => {
    const router = openRouter(routerFile(OUTCOMES));
    const client = await gateway({ policy: policy({ name: "learned", threshold: 0.5 }), router, drift: { expected: 0.25, window: 4, margin: 0.2 } });
    await ask(client, "rename the variable total in parser.py");
    await ask(client, "debug the flaky network timeout");
    await ask(client, "rename and break it");
    expect(warnings).toEqual([]);
    await ask(client, "debug the network pool race");
    // 3 of the last 4 went to the teacher: 75% > 25% + 20 points.
    expect(warnings).toEqual([expect.stringMatching(/^warning: searcher: 75\.0% of the last 4 requests went to the teacher, over eval's 25\.0% by more than 20 points/)]);
    const text = await metricsOf();
    expect(text).toMatch(/sabuild_gateway_routed_total\{answered_by="teacher",reason="router",route="searcher"\} 2/);
    expect(text).toMatch(/sabuild_gateway_routed_total\{answered_by="teacher",reason="contract",route="searcher"\} 1/);
    expect(text).toMatch(/sabuild_gateway_routed_total\{answered_by="student",reason="passed",route="searcher"\} 1/);
    expect(text).toMatch(/sabuild_gateway_contract_breaks_total\{route="searcher"\} 1/);
    expect(text).toMatch(/sabuild_gateway_answer_duration_seconds_count\{answered_by="teacher",route="searcher"\} 3/);
    expect(text).toMatch(/sabuild_gateway_router_score_count\{route="searcher"\} 4/);
    expect(Number(/sabuild_gateway_saved_usd_total\{route="searcher"\} ([\d.e-]+)/.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/sabuild_gateway_escalation_drift\{route="searcher"\} 1/);
    expect(text).toMatch(/sabuild_gateway_expected_escalation_ratio\{route="searcher"\} 0.25/);
  });

  it("no student exported: the teacher answers with route reason no-student", async () => {
    const client = await gateway({ baseUrl: undefined });
    expect(await ask(client, "where is retry")).toMatchObject({ who: "teacher", reason: "no-student" });
  });
});

describe("route policies over MCP (a whole agent loop)", () => {
  const trace = (who: "student" | "teacher", status: "completed" | "turn_cap" | "contract_violation", calls = 1): import("../src/traces/types.js").Trace => {
    const call = (i: number) => ({ id: `c${i}`, type: "function" as const, function: { name: "Grep", arguments: '{"pattern":"x"}' } });
    const turns = Array.from({ length: calls }, (_, i) => [
      { role: "assistant" as const, content: null, tool_calls: [call(i)] },
      { role: "tool" as const, tool_call_id: `c${i}`, content: "src/x.py:1" },
    ]).flat();
    return {
      version: 1,
      subagent: "searcher",
      task: { id: "mcp", prompt: "p", tags: [] },
      sample: 0,
      model: { name: who, base_url: "x", role: who },
      status,
      ...(status === "completed" ? { final_answer: `${who} answer` } : {}),
      contract: { tag: "final_answer", ok: status === "completed" },
      messages: [{ role: "user", content: "p" }, ...turns, { role: "assistant", content: status === "completed" ? `<final_answer>${who} answer</final_answer>` : "hmm" }],
      tools: [],
      turns: calls + 1,
      tool_calls: calls,
      tool_errors: 0,
      usage: { prompt_tokens: 0, completion_tokens: 0, requests: 0, cached_requests: 0, cost_usd: 0 },
      timings: { started_at: "2026-12-06T00:00:00Z", duration_ms: 1, model_ms: 1, tool_ms: 0 },
      sandbox: { recipe: "shell", id: "x", tag: "x" },
    };
  };
  const base = { name: "searcher", baseUrl: "http://student", model: "student", timeoutMs: 1000, contractTag: "final_answer", teacher: { baseUrl: "http://teacher", model: "big", timeoutMs: 1000 } };
  const p = (x: Partial<RoutePolicy> & Pick<RoutePolicy, "name">): RoutePolicy => ({ escalateOn: new Set(["error", "timeout", "contract"]), checks: { contract: true, combine: "any" }, threshold: 0.5, ...x });
  const signal = new AbortController().signal;
  async function run(route: Partial<StudentRoute>, student: ReturnType<typeof trace>) {
    const asked: string[] = [];
    const merged = { ...base, ...route };
    const r = await routeAgentRun({ ...merged, hasStudent: !!merged.baseUrl, hasTeacher: !!merged.teacher }, "rename the variable total in parser.py", async (who) => (asked.push(who), who === "student" ? student : trace("teacher", "completed")), () => undefined, signal);
    return { who: r.answeredBy, reason: r.reason, asked };
  }

  it("keeps a completed student run, and escalates a broken one, a looping one, a low-judged one; learned and teacher skip the student", async () => {
    expect(await run({ policy: p({ name: "fallback" }) }, trace("student", "completed"))).toMatchObject({ who: "student", reason: "passed" });
    expect(await run({ policy: p({ name: "fallback" }) }, trace("student", "contract_violation"))).toMatchObject({ who: "teacher", reason: "contract", asked: ["student", "teacher"] });
    expect(await run({ policy: p({ name: "fallback" }) }, trace("student", "turn_cap"))).toMatchObject({ who: "teacher", reason: "hard-checks" });
    const cascade = p({ name: "cascade", checks: { contract: true, hardChecks: { maxTurns: 10, maxRepeatedToolCalls: 2 }, minJudgeScore: 0.5, combine: "any" } });
    expect(await run({ policy: cascade }, trace("student", "completed", 3))).toMatchObject({ who: "teacher", reason: "hard-checks" });
    expect(await run({ policy: cascade, judge: async () => 0.1 }, trace("student", "completed"))).toMatchObject({ who: "teacher", reason: "judge" });
    expect(await run({ policy: cascade, judge: async () => 0.9 }, trace("student", "completed"))).toMatchObject({ who: "student", reason: "passed" });
    expect(await run({ policy: p({ name: "teacher" }) }, trace("student", "completed"))).toMatchObject({ who: "teacher", reason: "policy", asked: ["teacher"] });
    const router = openRouter(routerFile(OUTCOMES.map((o) => ({ ...o, success: !o.success }))));
    expect(await run({ policy: p({ name: "learned" }), router }, trace("student", "completed"))).toMatchObject({ who: "teacher", reason: "router", asked: ["teacher"] });
    expect(await run({ policy: p({ name: "student" }) }, trace("student", "contract_violation"))).toMatchObject({ who: "student", reason: "policy" });
    expect(await run({ baseUrl: undefined }, trace("student", "completed"))).toMatchObject({ who: "teacher", reason: "no-student", asked: ["teacher"] });
  });
});
