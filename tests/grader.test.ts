import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/index.js";
import { formatProblem } from "../src/errors.js";
import { ratios, summarize, type Outcome } from "../src/eval/metrics.js";
import { defaultRubric, judgeMany, judgeSetup, judgeStandinPolicy, judgeSystemPrompt, judgeTrace, judgeVerdict, resolveRubric } from "../src/judge/index.js";
import { createChatClient } from "../src/llm/index.js";
import type { ChatMessage } from "../src/llm/types.js";
import { evalStage } from "../src/stages/eval.js";
import { startStandin, type Standin, type StandinPolicy } from "../src/standin/index.js";
import type { Trace } from "../src/traces/types.js";

/**
 * The built-in grader (the stand-in judge the example uses when no judge model is set) and the
 * answer rule every judge is held to: a trace with no valid final answer earns nothing for
 * completion, correctness and concision. The example's student traces all ended in error and
 * used to score 0.64 against the teacher's 1.00.
 */

const TASK = "Run the tests in /repo and report which fail.";
const ANSWER = "tests/test_math.py::test_div fails: ZeroDivisionError at math.py:12";

/** A rollout as the rollout writes it: one pytest call, then the ending `over` describes. */
function rollout(role: Trace["model"]["role"], over: Partial<Trace> & { last?: string } = {}): Trace {
  const { last = `<final_answer>${ANSWER}</final_answer>`, ...fields } = over;
  const messages: ChatMessage[] = [
    { role: "system", content: "You run the test suite and report failures.\n\n## Output contract\nAnswer inside <final_answer>." },
    { role: "user", content: TASK },
    { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "bash", arguments: '{"command":"cd /repo && pytest -q"}' } }] },
    { role: "tool", tool_call_id: "c1", content: "FAILED tests/test_math.py::test_div - ZeroDivisionError (math.py:12)\n1 failed, 9 passed" },
    { role: "assistant", content: last },
  ];
  return {
    version: 1,
    subagent: "tester",
    task: { id: "t1", prompt: TASK, tags: [] },
    sample: 0,
    model: { name: role, base_url: "llama-server", role },
    status: "completed",
    final_answer: ANSWER,
    contract: { tag: "final_answer", ok: true },
    messages,
    tools: [],
    turns: 2,
    tool_calls: 1,
    tool_errors: 0,
    usage: { prompt_tokens: 10, completion_tokens: 10, requests: 2, cached_requests: 0, cost_usd: 0 },
    timings: { started_at: "2025-01-01T00:00:00.000Z", duration_ms: 1, model_ms: 1, tool_ms: 0 },
    sandbox: { recipe: "shell", id: "sha256:0", tag: "sabuild/shell:0" },
    ...fields,
  };
}

const GOOD = rollout("teacher");
/** Like the example's student: the rollout failed, with no answer in the contract's tags. */
const ERRORED = rollout("student", {
  status: "error",
  error: "the model's reply could not be parsed",
  final_answer: undefined,
  contract: { tag: "final_answer", ok: false },
  last: "I will now look at the tests again and",
});

const rubric = defaultRubric();
const ANSWER_DIMENSIONS = ["task_completion", "correctness", "concision"];

/** A lenient model judge: 5 on every dimension it is asked for, except those it leaves out. */
function lenient(leaveOut: string[] = []): StandinPolicy {
  const dimensions = Object.fromEntries(rubric.dimensions.filter((d) => !leaveOut.includes(d.name)).map((d) => [d.name, { score: 5, reason: "nothing false said" }]));
  const flags = Object.fromEntries(rubric.flags.map((f) => [f.name, { present: false, reason: "not seen" }]));
  return () => ({ content: JSON.stringify({ dimensions, flags }) });
}

describe("the built-in grader and the answer rule", () => {
  let standin: Standin;
  let policy: StandinPolicy = judgeStandinPolicy;
  beforeAll(async () => {
    standin = await startStandin({ policy: (request) => policy(request), models: ["judge-model"] });
  });
  afterAll(() => standin.close());

  const client = () => createChatClient({ baseUrl: standin.url, apiKey: "", model: "judge-model", cache: false, retry: { maxRetries: 0 }, warn: () => {} });
  const judge = (trace: Trace, grader: StandinPolicy = judgeStandinPolicy) => {
    policy = grader;
    return judgeTrace({ client: client(), model: "judge-model", rubric, trace, reference: GOOD });
  };

  it("gives a trace that ended in error nothing for completion, correctness and concision, and a low overall", async () => {
    const judged = await judge(ERRORED);
    expect(judged.error).toBeUndefined();
    for (const name of ANSWER_DIMENSIONS) expect(judged.dimensions[name]).toEqual({ score: 0, reason: "no valid final answer: status is error" });
    expect(judged.dimensions.contract).toEqual({ score: 0, reason: "output contract not held" });
    // Only safety (2) and tool efficiency (1) are earned: 3 of 11. The grader's own reply agrees
    // with the rule, so nothing is overruled, and no score is out of range.
    expect(judged.score).toBe(0.2727);
    expect(judged.warnings).toEqual([]);
    expect(judgeVerdict(judged, { threshold: 0.5, failOnFlags: rubric.failOnFlags }).pass).toBe(false);
  });

  it("still gives a good trace full marks", async () => {
    const judged = await judge(GOOD);
    expect(judged.score).toBe(1);
    expect(judged.dimensions.correctness).toEqual({ score: 1, reason: "every checked fact appears in a tool result" });
    expect(judged.warnings).toEqual([]);
  });

  it("counts an answer after the turn cap, or outside the contract, as no valid answer", async () => {
    const cases: [Partial<Trace>, string][] = [
      [{ status: "turn_cap" }, "status is turn_cap"],
      [{ status: "contract_violation", final_answer: undefined, contract: { tag: "final_answer", ok: false } }, "status is contract_violation"],
    ];
    for (const [over, why] of cases) {
      const judged = await judge(rollout("student", over));
      for (const name of ANSWER_DIMENSIONS) expect(judged.dimensions[name]).toEqual({ score: 0, reason: `no valid final answer: ${why}` });
    }
  });

  it("holds a lenient model judge to the rule, saying so, and leaves a good trace alone", async () => {
    const judged = await judge(ERRORED, lenient(["correctness"]));
    for (const name of ANSWER_DIMENSIONS) expect(judged.dimensions[name]).toEqual({ score: 0, reason: "no valid final answer: status is error" });
    // Left out by the judge, correctness is decided by the rule: filled in, not missing.
    expect(judged.missing).toEqual([]);
    expect(judged.warnings).toEqual([
      "task_completion: score 1 set to 0, the trace has no valid final answer",
      "concision: score 1 set to 0, the trace has no valid final answer",
    ]);
    // tool_efficiency 1, safety 2 and the contract the judge gave 5: (1 + 2 + 1) / 11.
    expect(judged.score).toBe(0.3636);

    const good = await judge(GOOD, lenient());
    expect(good.score).toBe(1);
    expect(good.warnings).toEqual([]);
  });

  it("makes judge_vs_teacher reflect a student whose rollouts all failed", async () => {
    policy = judgeStandinPolicy;
    const grade = async (traces: Trace[]): Promise<Outcome[]> => {
      const results = await judgeMany(traces, { client: client(), model: "judge-model", rubric, concurrency: 2, referenceOf: () => GOOD });
      return traces.map((trace, i) => ({ trace, judge: results[i]!, judgePass: judgeVerdict(results[i]!, { threshold: 0.5, failOnFlags: rubric.failOnFlags }).pass }));
    };
    const teacher = summarize("teacher", await grade([GOOD, GOOD, GOOD]), 10);
    const student = summarize("student", await grade([ERRORED, ERRORED, ERRORED]), 10);
    expect(teacher.judge?.score).toBe(1);
    expect(student.judge).toEqual({ score: 0.2727, dimensions: { concision: 0, contract: 0, correctness: 0, safety: 1, task_completion: 0, tool_efficiency: 1 } });
    expect(ratios(student, teacher)).toMatchObject({ judge_vs_teacher: 0.2727, success_vs_teacher: 0 });
  });
});

describe("what tells the rule to a judge, and old judgments apart", () => {
  it("states the rule in the system prompt, for the dimensions that grade the answer", () => {
    expect(rubric.dimensions.filter((d) => d.gradesAnswer).map((d) => d.name)).toEqual(ANSWER_DIMENSIONS);
    expect(judgeSystemPrompt(rubric)).toContain(
      "A transcript without a valid final answer (a status other than completed, or the output contract not held) scores 1 on task_completion, correctness, concision: there is no answer to credit.",
    );
    // A built-in dimension described anew still grades the answer; a new one does not.
    const custom = resolveRubric({ rubric: { concision: "The answer fits in five lines.", cites_lines: "Every finding names a line." } });
    if (!custom.ok) throw new Error(custom.error.map(formatProblem).join("\n"));
    expect(custom.value.dimensions.filter((d) => d.gradesAnswer).map((d) => d.name)).toEqual(ANSWER_DIMENSIONS);
    const replaced = resolveRubric({ rubric_mode: "replace", rubric: { cites_lines: "Every finding names a line." } });
    if (!replaced.ok) throw new Error(replaced.error.map(formatProblem).join("\n"));
    expect(judgeSystemPrompt(replaced.value)).not.toContain("without a valid final answer");
  });

  it("puts the rubric digest (prompt version and answer rule) in the eval stage's key", async () => {
    const config = parseConfig(
      ["version: 1", "subagents:", "  tester:", "    source: {agent: a.md}", "    teacher: {standin: policy.mjs, model: scripted}", "    eval:", "      judge: {threshold: 0.5}", ""].join("\n"),
      "/p/subagents.yaml",
    );
    if (!config.ok) throw new Error(config.error.map(formatProblem).join("\n"));
    const subagent = config.value.subagents[0]!;
    const setup = judgeSetup(subagent);
    if (!setup.ok) throw new Error(setup.error.map(formatProblem).join("\n"));
    const inputs = await evalStage().inputs({ project: config.value, subagent });
    if (!inputs.ok) throw new Error(inputs.error.map(formatProblem).join("\n"));
    expect(inputs.value.params).toMatchObject({ judge: { threshold: 0.5, base_url: "standin:policy.mjs", api_key: null, rubric_digest: setup.value.rubric.digest } });
  });
});
