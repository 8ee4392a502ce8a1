import { repeatedToolCalls } from "../judge/hard-checks.js";
import type { ChatMessage } from "../llm/types.js";
import { checkContract } from "../traces/contract.js";
import type { CascadeChecks } from "./policy.js";

/** One failed check of a student's reply: which, and why in words. */
export interface CheckFailure {
  reason: "contract" | "hard-checks" | "confidence" | "judge";
  detail: string;
}

/** What a cascade sees of one student turn. */
export interface StudentTurn {
  /** The conversation the client sent. */
  messages: ChatMessage[];
  content: string | null | undefined;
  toolCalls: NonNullable<ChatMessage["tool_calls"]>;
  /** Token log-probabilities of the reply (llama-server's `logprobs.content[].logprob`), when asked for. */
  logprobs?: number[];
}

/** Mean token probability: the geometric mean of the tokens' probabilities, so one long reply is not penalised for its length. */
export function confidenceOf(logprobs: readonly number[]): number {
  if (logprobs.length === 0) return 0;
  return Math.exp(logprobs.reduce((a, b) => a + b, 0) / logprobs.length);
}

/**
 * The model-free checks of a cascade, in a fixed order (contract, hard checks, confidence), each
 * only when configured. The judge runs after these (it costs a model call), see `judgeFailure`.
 */
export function cheapChecks(turn: StudentTurn, checks: CascadeChecks, contractTag: string): { failures: CheckFailure[]; ran: number; confidence?: number } {
  const failures: CheckFailure[] = [];
  let ran = 0;
  const final = turn.toolCalls.length === 0;
  if (checks.contract && final) {
    ran++;
    const c = checkContract(turn.content, contractTag);
    if (!c.ok) failures.push({ reason: "contract", detail: c.reason ?? "contract broken" });
  }
  if (checks.hardChecks) {
    ran++;
    const h = checks.hardChecks;
    const reply: ChatMessage = { role: "assistant", content: turn.content ?? null, ...(turn.toolCalls.length ? { tool_calls: turn.toolCalls } : {}) };
    const conversation = [...turn.messages, reply];
    const turns = conversation.filter((m) => m.role === "assistant").length;
    const repeated = repeatedToolCalls({ messages: conversation });
    if (turns > h.maxTurns) failures.push({ reason: "hard-checks", detail: `${turns} turns, over the cap of ${h.maxTurns}` });
    else if (repeated.most && repeated.most.count > h.maxRepeatedToolCalls)
      failures.push({ reason: "hard-checks", detail: `${repeated.most.name} called ${repeated.most.count} times with the same arguments (limit ${h.maxRepeatedToolCalls})` });
  }
  let confidence: number | undefined;
  if (checks.minConfidence !== undefined) {
    ran++;
    if (!turn.logprobs) failures.push({ reason: "confidence", detail: "the student's server returned no token log-probabilities" });
    else {
      confidence = confidenceOf(turn.logprobs);
      if (confidence < checks.minConfidence) failures.push({ reason: "confidence", detail: `mean token probability ${confidence.toFixed(3)} < ${checks.minConfidence}` });
    }
  }
  return { failures, ran, ...(confidence !== undefined ? { confidence } : {}) };
}

/** Whether the failures escalate: any failing check, or (combine: all) every check that ran. */
export function escalates(failures: readonly unknown[], ran: number, combine: CascadeChecks["combine"]): boolean {
  return combine === "any" ? failures.length > 0 : ran > 0 && failures.length === ran;
}
