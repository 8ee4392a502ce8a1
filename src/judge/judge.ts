import type { ChatClient, ChatMessage, ChatRequest, ChatResult } from "../llm/types.js";
import type { Trace } from "../traces/types.js";
import { holdAnswerRule } from "./answer-rule.js";
import { parseJudgeReply } from "./parse.js";
import { correctiveMessage, judgeMessages } from "./prompt.js";
import { answerText, countAnswerTokens } from "../traces/answer-tokens.js";
import type { JudgeResult, JudgeUsage, Rubric } from "./types.js";

export interface JudgeOptions {
  client: ChatClient;
  /** The judge model, as the endpoint names it. */
  model: string;
  rubric: Rubric;
  trace: Trace;
  /** The teacher's trace of the same task, shown as a reference. */
  reference?: Trace;
  signal?: AbortSignal;
  /** Completion tokens allowed per reply (2048). */
  maxTokens?: number;
}

const DEFAULT_MAX_TOKENS = 2048;

/** Weighted mean of the scored dimensions; null when no weighted dimension was scored. */
export function overallScore(rubric: Rubric, dimensions: JudgeResult["dimensions"]): number | null {
  let sum = 0;
  let weights = 0;
  for (const d of rubric.dimensions) {
    const scored = dimensions[d.name];
    if (!scored || d.weight === 0) continue;
    sum += d.weight * scored.score;
    weights += d.weight;
  }
  return weights > 0 ? Math.round((sum / weights) * 10_000) / 10_000 : null;
}

function cut(text: string | null, chars: number): string {
  const t = text ?? "";
  return t.length > chars ? `${t.slice(0, chars)}…` : t;
}

/** A 400 from an endpoint that does not take response_format says so only in its own words. */
function withJsonModeHint(e: unknown, rubric: Rubric): unknown {
  const status = (e as { status?: unknown }).status;
  if (!rubric.jsonMode || status !== 400 || !(e instanceof Error)) return e;
  return new Error(`${e.message} (the judge endpoint may not accept response_format: set eval.judge.json_mode: false)`, { cause: e });
}

/**
 * Grades one trace. A reply that cannot be read is retried once with a corrective message
 * quoting why; a second failure gives a result with `error` set. A trace without a valid final
 * answer scores 0 on the dimensions that grade it, whatever the reply says (answer-rule.ts).
 * Errors of the endpoint itself (network, budget, abort) are thrown, so a stage can retry the
 * item on its next build.
 */
export async function judgeTrace(o: JudgeOptions): Promise<JudgeResult> {
  const usage: JudgeUsage = { prompt_tokens: 0, completion_tokens: 0, requests: 0, cached_requests: 0, cost_usd: 0 };
  const ask = async (messages: ChatMessage[]): Promise<ChatResult> => {
    const request: ChatRequest = {
      model: o.model,
      messages,
      temperature: 0,
      max_tokens: o.maxTokens ?? DEFAULT_MAX_TOKENS,
      ...(o.rubric.jsonMode ? { response_format: { type: "json_object" } } : {}),
    };
    let result: ChatResult;
    try {
      result = await o.client.complete(request, o.signal ? { signal: o.signal } : {});
    } catch (e) {
      throw withJsonModeHint(e, o.rubric);
    }
    usage.requests++;
    if (result.cached) usage.cached_requests++;
    usage.prompt_tokens += result.usage.prompt_tokens;
    usage.completion_tokens += result.usage.completion_tokens;
    usage.cost_usd = Math.round((usage.cost_usd + result.costUsd) * 1e8) / 1e8;
    return result;
  };
  const base = { version: 1 as const, model: o.model, rubric_digest: o.rubric.digest, usage };

  // The judge is told the answer's length only when it grades it: other rubrics' prompts stay as they were.
  const answerTokens = o.rubric.dimensions.some((d) => d.name === "answer_length")
    ? (await countAnswerTokens([answerText(o.trace.messages.at(-1)?.content, o.trace.contract.tag, o.trace.final_answer)]))[0]
    : undefined;
  const messages = judgeMessages(o.rubric, o.trace, o.reference, answerTokens);
  let reply = await ask(messages);
  let parsed = parseJudgeReply(reply.message.content, o.rubric);
  if (!parsed.ok) {
    const why = reply.finish_reason === "length" ? `${parsed.error} (it was cut off at max_tokens; keep reasons short)` : parsed.error;
    reply = await ask([
      ...messages,
      { role: "assistant", content: reply.message.content ?? "" },
      { role: "user", content: correctiveMessage(o.rubric, why) },
    ]);
    parsed = parseJudgeReply(reply.message.content, o.rubric);
  }
  if (!parsed.ok) {
    return {
      ...base,
      score: null,
      dimensions: {},
      flags: {},
      missing: [...o.rubric.dimensions.map((d) => d.name), ...o.rubric.flags.map((f) => f.name)],
      warnings: [],
      error: `the judge's reply could not be read, after one corrective retry: ${parsed.error}`,
      reply: cut(reply.message.content, 2000),
    };
  }
  const grade = holdAnswerRule(o.rubric, o.trace, parsed.value);
  const score = overallScore(o.rubric, grade.dimensions);
  return {
    ...base,
    score,
    ...grade,
    ...(score === null ? { error: "the judge scored none of the dimensions that carry weight" } : {}),
  };
}

export interface JudgeProgress {
  done: number;
  total: number;
  /** Judgments with `error` set so far. */
  errors: number;
  costUsd: number;
  /** Mean overall score of the judgments done so far (errors left out). */
  meanScore: number | null;
}

export interface JudgeManyOptions extends Omit<JudgeOptions, "trace" | "reference"> {
  concurrency: number;
  /** The reference for a trace (usually the teacher's trace of the same task). */
  referenceOf?(trace: Trace, index: number): Trace | undefined;
  /** Called as each judgment finishes, so a caller can store it before the others end. */
  onResult?(result: JudgeResult, index: number): void | Promise<void>;
  onProgress?(progress: JudgeProgress): void;
}

/**
 * Grades traces, `concurrency` at a time; results come back in the order of `traces`. When a
 * judgment throws (endpoint down, budget spent, aborted), no new one starts, those under way
 * finish (and reach onResult), and the first error is thrown.
 */
export async function judgeMany(traces: readonly Trace[], o: JudgeManyOptions): Promise<JudgeResult[]> {
  const results: JudgeResult[] = new Array(traces.length);
  const progress: JudgeProgress = { done: 0, total: traces.length, errors: 0, costUsd: 0, meanScore: null };
  let scoreSum = 0;
  let scored = 0;
  let next = 0;
  let failure: { error: unknown } | undefined;

  const worker = async (): Promise<void> => {
    while (!failure && next < traces.length) {
      const index = next++;
      const trace = traces[index]!;
      try {
        const reference = o.referenceOf?.(trace, index);
        const result = await judgeTrace({
          client: o.client,
          model: o.model,
          rubric: o.rubric,
          trace,
          ...(reference ? { reference } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
          ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
        });
        results[index] = result;
        progress.done++;
        if (result.error) progress.errors++;
        if (result.score !== null) {
          scoreSum += result.score;
          scored++;
          progress.meanScore = Math.round((scoreSum / scored) * 10_000) / 10_000;
        }
        progress.costUsd = Math.round((progress.costUsd + result.usage.cost_usd) * 1e8) / 1e8;
        await o.onResult?.(result, index);
        o.onProgress?.({ ...progress });
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, traces.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
