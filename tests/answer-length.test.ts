import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTargets, summarize, type Outcome } from "../src/eval/metrics.js";
import { defaultRubric, judgeStandinPolicy, judgeTrace, resolveRubric } from "../src/judge/index.js";
import { createChatClient } from "../src/llm/index.js";
import { startStandin, type Standin } from "../src/standin/index.js";
import { answerText, countAnswerTokens } from "../src/traces/answer-tokens.js";
import type { Trace } from "../src/traces/types.js";

/**
 * Answer length (issue 14 §6): what a subagent hands back costs the orchestrator a token each.
 * Counted once (src/traces/answer-tokens.ts) for eval, the benchmark, the judge and the dataset.
 */

const SHORT = "retry.ts:42 doubles the backoff";
const LONG = `${SHORT}. ${"I also looked at every other file in the repository and found nothing else of note. ".repeat(10)}`;

function trace(answer: string, over: Partial<Trace> = {}): Trace {
  return {
    version: 1,
    subagent: "searcher",
    task: { id: "t1", prompt: "Where is the backoff computed?", tags: [] },
    sample: 0,
    model: { name: "m", base_url: "http://127.0.0.1:1/v1", role: "student" },
    status: "completed",
    final_answer: answer,
    contract: { tag: "final_answer", ok: true },
    messages: [
      { role: "system", content: "You find code." },
      { role: "user", content: "Where is the backoff computed?" },
      { role: "assistant", content: `Done.\n<final_answer>${answer}</final_answer>` },
    ],
    tools: [],
    turns: 1,
    tool_calls: 0,
    tool_errors: 0,
    usage: { prompt_tokens: 10, completion_tokens: 10, requests: 1, cached_requests: 0, cost_usd: 0 },
    timings: { started_at: "2026-01-01T00:00:00.000Z", duration_ms: 5, model_ms: 5, tool_ms: 0 },
    sandbox: { recipe: "shell", id: "sha256:0", tag: "sabuild/shell:0" },
    ...over,
  };
}

describe("answer length", () => {
  it("counts the contract's answer (else the whole final message) in Qwen3 tokens", async () => {
    expect(answerText("Done.\n<final_answer> a b </final_answer>", "final_answer")).toBe("a b");
    expect(answerText("no tags here", "final_answer")).toBe("no tags here");
    expect(answerText("ignored", "final_answer", "given")).toBe("given");
    const [short, long, empty] = await countAnswerTokens([SHORT, LONG, ""]);
    expect(short).toBeGreaterThan(4);
    expect(short).toBeLessThan(15);
    expect(long).toBeGreaterThan(10 * short!);
    expect(empty).toBe(0);
  });

  it("eval: per model mean, p95 and max; a target can cap it (max_answer_tokens) or compare it with the teacher's", () => {
    const outcomes: Outcome[] = [10, 20, 30, 40].map((n) => ({ trace: trace(SHORT), judgePass: true, answerTokens: n }));
    const student = summarize("student", outcomes, 10);
    expect(student.answer_tokens).toEqual({ mean: 25, p95: 40, max: 40 });
    const teacher = summarize("teacher", outcomes.map((o) => ({ ...o, answerTokens: o.answerTokens! * 2 })), 10);
    const [cap, ratio] = checkTargets({ max_answer_tokens: 30, answer_tokens_vs_teacher: "<= 0.6" }, student, { answer_tokens_vs_teacher: 0.5 });
    expect(cap).toMatchObject({ actual: 25, ok: true, expected: "<= 30" });
    expect(ratio).toMatchObject({ actual: 0.5, ok: true });
    expect(teacher.answer_tokens!.mean).toBe(50);
    // An eval made before answers were counted has no figure, not a zero.
    expect(summarize("student", outcomes.map(({ answerTokens: _n, ...o }) => o), 10).answer_tokens).toBeUndefined();
  });
});

describe("answer_length in the judge's rubric", () => {
  let standin: Standin;
  beforeAll(async () => {
    standin = await startStandin({ policy: judgeStandinPolicy, models: ["judge-model"] });
  });
  afterAll(() => standin.close());

  it("is not in the default rubric (its digest, and so every judgment, stays); weighting it adds it", () => {
    expect(defaultRubric().dimensions.map((d) => d.name)).not.toContain("answer_length");
    const weighted = resolveRubric({ weights: { answer_length: 2 } });
    expect(weighted.ok && weighted.value.dimensions.find((d) => d.name === "answer_length")).toMatchObject({ weight: 2, gradesAnswer: true });
    expect(weighted.ok && weighted.value.digest).not.toBe(defaultRubric().digest);
    const typo = resolveRubric({ weights: { answer_lenght: 2 } });
    expect(!typo.ok && typo.error[0]!.hint).toBe('did you mean "answer_length"?');
  });

  it("the judge is told the answer's length in tokens, and scores the dimension", async () => {
    const rubric = resolveRubric({ weights: { answer_length: 2 } });
    if (!rubric.ok) throw new Error("rubric");
    const client = createChatClient({ baseUrl: standin.url, apiKey: "", model: "judge-model", cache: false, retry: { maxRetries: 0 }, warn: () => {} });
    const result = await judgeTrace({ client, model: "judge-model", rubric: rubric.value, trace: trace(LONG) });
    expect(result.error).toBeUndefined();
    expect(result.dimensions.answer_length).toBeDefined();
    const [tokens] = await countAnswerTokens([LONG]);
    const prompt = standin.stats.bodies.at(-1)!.messages[1]!.content as string;
    expect(prompt).toContain(`The final answer handed back to the caller is ${tokens} tokens long.`);
    // Without the dimension the prompt is as before.
    await judgeTrace({ client, model: "judge-model", rubric: defaultRubric(), trace: trace(LONG) });
    expect(standin.stats.bodies.at(-1)!.messages[1]!.content).not.toContain("# Answer length");
  });
});
