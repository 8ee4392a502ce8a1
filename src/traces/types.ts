import type { Verification } from "../envs/types.js";
import type { SandboxImage } from "../sandbox/types.js";
import type { FunctionToolDef, McpServerUse, RecordedResult } from "../tools/types.js";
import type { ChatMessage } from "../llm/types.js";

export type TraceStatus = "completed" | "turn_cap" | "contract_violation" | "error";

/**
 * One rollout: the `traces` stage writes it as items/<task>~<sample>/trace.json; the dataset,
 * judge, eval and report read it. Also the shape of eval rollouts of student/base/teacher.
 */
export interface Trace {
  version: 1;
  subagent: string;
  task: { id: string; prompt: string; tags: string[] };
  sample: number;
  /** Who played the subagent: the teacher's model and endpoint (never the key). */
  model: { name: string; base_url: string; role: "teacher" | "student" | "base" | "orchestrator" };
  status: TraceStatus;
  /** Set when status is error (or why the contract failed). */
  error?: string;
  /** The text inside the output contract's tag, when it holds. */
  final_answer?: string;
  contract: { tag: string; ok: boolean };
  /** The whole conversation, system prompt first, in OpenAI format. */
  messages: ChatMessage[];
  tools: FunctionToolDef[];
  turns: number;
  tool_calls: number;
  tool_errors: number;
  usage: { prompt_tokens: number; completion_tokens: number; requests: number; cached_requests: number; cost_usd: number };
  /**
   * sandbox_ms: from the rollout's start until its container was up (it starts beside the first
   * model call); sandbox_wait_ms: how long the first tool call still had to wait for it.
   */
  timings: { started_at: string; duration_ms: number; model_ms: number; tool_ms: number; sandbox_ms?: number; sandbox_wait_ms?: number };
  sandbox: Pick<SandboxImage, "recipe" | "id" | "tag"> & { env?: string };
  /** The task's verifier result, when the task has one (run after the agent finished, same container). */
  verification?: Verification;
  /**
   * The stored results the tool calls used (web searches and pages), in call order: which record
   * each call saw, by content digest. Absent when no call used one.
   */
  recorded?: (RecordedResult & { tool_call_id: string })[];
  /** The MCP servers the rollout was offered tools of, with a digest of those tools. Absent without any. */
  mcp?: McpServerUse[];
}
