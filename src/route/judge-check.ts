import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { UserInputError } from "../errors.js";
import { judgeClient } from "../judge/client.js";
import { judgeTrace } from "../judge/judge.js";
import { judgeSetup } from "../judge/settings.js";
import type { ChatClient, ChatMessage } from "../llm/types.js";
import type { Rubric } from "../judge/types.js";
import { checkContract } from "../traces/contract.js";
import type { Trace } from "../traces/types.js";

/**
 * The judge of a cascade: the same judge, rubric and client eval uses, on the conversation so
 * far plus the student's final answer, read as a finished trace. Its score (0..1) decides; a
 * reply it cannot read scores 0, so the teacher answers.
 */
export async function cascadeJudge(project: ProjectConfig, subagent: ResolvedSubagent, log: (line: string) => void): Promise<(messages: unknown[], answer: string, signal: AbortSignal) => Promise<number>> {
  const setup = judgeSetup(subagent);
  if (!setup.ok) throw new UserInputError(`${subagent.name}: route.checks.min_judge_score needs a judge: ${setup.error.map((p) => p.message).join("; ")}`);
  const client = await judgeClient(project, subagent, setup.value, { stage: "serve", log });
  return answerJudge({ client, model: setup.value.model, rubric: setup.value.rubric, subagent: subagent.name, tag: subagent.traces.output_contract.tag });
}

/** The judge over one answer: the conversation and the answer read as a finished trace, graded by the rubric. */
export function answerJudge(o: { client: ChatClient; model: string; rubric: Rubric; subagent: string; tag: string }): (messages: unknown[], answer: string, signal: AbortSignal) => Promise<number> {
  const { tag } = o;
  return async (messages, answer, signal) => {
    const conversation = [...(messages as ChatMessage[]), { role: "assistant", content: answer } as ChatMessage];
    const contract = checkContract(answer, tag);
    const trace: Trace = {
      version: 1,
      subagent: o.subagent,
      task: { id: "serve", prompt: conversation.find((m) => m.role === "user")?.content ?? "", tags: [] },
      sample: 0,
      model: { name: `subagent/${o.subagent}`, base_url: "llama-server", role: "student" },
      status: contract.ok ? "completed" : "contract_violation",
      ...(contract.ok ? { final_answer: contract.answer! } : {}),
      contract: { tag, ok: contract.ok },
      messages: conversation,
      tools: [],
      turns: conversation.filter((m) => m.role === "assistant").length,
      tool_calls: conversation.reduce((n, m) => n + (m.tool_calls?.length ?? 0), 0),
      tool_errors: 0,
      usage: { prompt_tokens: 0, completion_tokens: 0, requests: 0, cached_requests: 0, cost_usd: 0 },
      timings: { started_at: new Date().toISOString(), duration_ms: 0, model_ms: 0, tool_ms: 0 },
      sandbox: { recipe: "none", id: "none", tag: "none" },
    };
    const result = await judgeTrace({ client: o.client, model: o.model, rubric: o.rubric, trace, signal });
    return result.score ?? 0;
  };
}
