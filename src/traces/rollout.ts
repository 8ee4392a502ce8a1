import type { ChatClient, ChatMessage, ChatRequest, ChatResult } from "../llm/types.js";
import type { Verification } from "../envs/types.js";
import type { SandboxImage, SandboxSession } from "../sandbox/types.js";
import type { AgentTool, FunctionToolDef, McpServerUse, RecordedResult, ToolContext, ToolResult, WebProvider } from "../tools/types.js";
import { checkContract, contractInstructions, turnCapMessage } from "./contract.js";
import type { Trace, TraceStatus } from "./types.js";

/** Everything one rollout needs: who plays the subagent, on which task, with which tools. */
export interface RolloutOptions {
  subagent: string;
  task: { id: string; prompt: string; tags: string[] };
  sample: number;
  /**
   * What keeps this rollout's model replies apart in the reply cache from other rollouts that send
   * the same request; `sample:<sample>` unless the caller knows better (a delegation names its item).
   */
  cacheSalt?: string;
  /** The subagent's own instructions (agent body or SKILL.md); the contract is appended. */
  instructions: string;
  /**
   * The output contract's tag. Unset for an agent whose answer no caller parses (a benchmark's
   * orchestrator: its verifier decides): its last message is its answer, and the trace's
   * contract tag is "".
   */
  contractTag?: string;
  maxTurns: number;
  client: ChatClient;
  model: Trace["model"];
  sampling: { temperature?: number; max_tokens?: number };
  tools: AgentTool[];
  toolDefs: FunctionToolDef[];
  runTool(name: string, rawArguments: string, ctx: ToolContext): Promise<ToolResult>;
  /**
   * Opens a fresh container: while the first model call is under way (one that takes more than
   * a moment), or else at the first tool call. It is closed when the rollout ends, used or not.
   */
  openSandbox(): Promise<SandboxSession>;
  image: SandboxImage;
  /** The task's environment id (the sandbox stage's item), recorded in the trace. */
  env?: string;
  /**
   * Runs the task's verifier after the agent's last turn, in the same container (opened if no
   * tool ran); its result is recorded in the trace.
   */
  verify?(session: SandboxSession): Promise<Verification>;
  /**
   * When given, the rollout returns without waiting for its container's removal (~100 ms of
   * Docker's time) and hands the removal here; the caller awaits it before it ends. Unset, the
   * rollout returns once the container is gone.
   */
  onClosing?(closing: Promise<void>): void;
  web?: WebProvider;
  /** The MCP servers whose tools are among `tools`, for the trace. */
  mcp?: McpServerUse[];
  signal?: AbortSignal;
  /** Called after every model reply and tool result, for progress and running cost. */
  onStep?(step: { turn: number; costUsd: number; toolCalls: number }): void;
}

export function systemPrompt(instructions: string, tag?: string): string {
  return tag ? `${instructions.trim()}\n\n${contractInstructions(tag)}\n` : `${instructions.trim()}\n`;
}

/** How long the first model call may take before the rollout starts its container beside it. */
const EARLY_OPEN_MS = 25;

/** A failure of the teacher that is not worth retrying on the next build (the request itself is bad). */
function isPermanent(e: unknown): boolean {
  const status = (e as { status?: unknown }).status;
  return typeof status === "number" && status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429;
}

/**
 * Plays the subagent on one task: model turns and tool calls in a sandbox until the model
 * answers without tools or the turn cap is reached (then it is asked once for its answer).
 * Transient failures (network, sandbox engine, budget) throw, so the item is retried on the next
 * build; what the model did wrong is recorded in the trace's status instead.
 */
export async function rollout(o: RolloutOptions): Promise<Trace> {
  const started = Date.now();
  const messages: ChatMessage[] = [
    { role: "system", content: systemPrompt(o.instructions, o.contractTag) },
    { role: "user", content: o.task.prompt },
  ];
  const usage = { prompt_tokens: 0, completion_tokens: 0, requests: 0, cached_requests: 0, cost_usd: 0 };
  const timings: { model_ms: number; tool_ms: number; sandbox_ms?: number; sandbox_wait_ms: number } = { model_ms: 0, tool_ms: 0, sandbox_wait_ms: 0 };
  let toolCalls = 0;
  let toolErrors = 0;
  const recorded: NonNullable<Trace["recorded"]> = [];
  let turns = 0;
  let session: SandboxSession | undefined;
  // Opened once, awaited at the first tool call: a failure to open only matters if a tool runs.
  let opening: Promise<SandboxSession> | undefined;
  const openSandbox = (): Promise<SandboxSession> => {
    if (!opening) {
      opening = o.openSandbox().then((s) => ((timings.sandbox_ms = Date.now() - started), s));
      opening.catch(() => undefined);
    }
    return opening;
  };

  const ask = async (extra: Partial<ChatRequest> = {}): Promise<ChatResult> => {
    const request: ChatRequest = {
      model: o.model.name,
      messages: messages.map(forWire),
      ...(o.toolDefs.length ? { tools: o.toolDefs } : {}),
      ...(o.sampling.temperature !== undefined ? { temperature: o.sampling.temperature } : {}),
      ...(o.sampling.max_tokens !== undefined ? { max_tokens: o.sampling.max_tokens } : {}),
      ...extra,
    };
    const result = await o.client.complete(request, { signal: o.signal, cacheSalt: o.cacheSalt ?? `sample:${o.sample}` });
    usage.requests++;
    if (result.cached) usage.cached_requests++;
    usage.prompt_tokens += result.usage.prompt_tokens;
    usage.completion_tokens += result.usage.completion_tokens;
    usage.cost_usd += result.costUsd;
    timings.model_ms += result.latencyMs;
    return result;
  };

  const finish = (status: TraceStatus, extra: { error?: string; final_answer?: string; contractOk?: boolean } = {}): Trace => ({
    version: 1,
    subagent: o.subagent,
    task: o.task,
    sample: o.sample,
    model: o.model,
    status,
    ...(extra.error !== undefined ? { error: extra.error } : {}),
    ...(extra.final_answer !== undefined ? { final_answer: extra.final_answer } : {}),
    contract: { tag: o.contractTag ?? "", ok: extra.contractOk ?? false },
    messages,
    tools: o.toolDefs,
    turns,
    tool_calls: toolCalls,
    tool_errors: toolErrors,
    usage: { ...usage, cost_usd: Math.round(usage.cost_usd * 1e8) / 1e8 },
    timings: { started_at: new Date(started).toISOString(), duration_ms: Date.now() - started, ...timings },
    sandbox: { recipe: o.image.recipe, id: o.image.id, tag: o.image.tag, ...(o.env ? { env: o.env } : {}) },
    ...(recorded.length ? { recorded } : {}),
    ...(o.mcp?.length ? { mcp: o.mcp } : {}),
  });

  const conclude = (content: string | null, status: "completed" | "turn_cap"): Trace => {
    if (!o.contractTag) return finish(status, { final_answer: content?.trim() ?? "", contractOk: true });
    const check = checkContract(content, o.contractTag);
    if (!check.ok) return finish(status === "turn_cap" ? "turn_cap" : "contract_violation", { error: check.reason, contractOk: false });
    return finish(status, { final_answer: check.answer!, contractOk: true });
  };

  const play = async (): Promise<Trace> => {
    while (turns < o.maxTurns) {
      o.signal?.throwIfAborted();
      let reply: ChatResult;
      // While the teacher thinks about its first reply, the container starts. A reply from the
      // response cache, or a budget stop, settles before EARLY_OPEN_MS and opens nothing.
      const early = turns === 0 ? setTimeout(() => void openSandbox(), EARLY_OPEN_MS) : undefined;
      try {
        reply = await ask();
      } catch (e) {
        if (isPermanent(e)) return finish("error", { error: (e as Error).message });
        throw e;
      } finally {
        clearTimeout(early);
      }
      turns++;
      const message: ChatMessage = { ...reply.message, role: "assistant" };
      messages.push(message);
      const calls = message.tool_calls ?? [];
      o.onStep?.({ turn: turns, costUsd: usage.cost_usd, toolCalls });
      if (calls.length === 0) {
        if (reply.finish_reason === "length") return finish("error", { error: "the reply was cut off at max_tokens" });
        return conclude(message.content, "completed");
      }
      for (const call of calls) {
        o.signal?.throwIfAborted();
        if (!session) {
          const waitFrom = Date.now();
          session = await openSandbox();
          timings.sandbox_wait_ms = Date.now() - waitFrom;
        }
        const t0 = Date.now();
        const noteRecorded = (r: RecordedResult) => recorded.push({ tool_call_id: call.id, ...r });
        const result = await o.runTool(call.function.name, call.function.arguments, { sandbox: session, signal: o.signal, recorded: noteRecorded, ...(o.web ? { web: o.web } : {}) });
        timings.tool_ms += Date.now() - t0;
        toolCalls++;
        if (result.isError) toolErrors++;
        messages.push({ role: "tool", tool_call_id: call.id, content: result.content });
        o.onStep?.({ turn: turns, costUsd: usage.cost_usd, toolCalls });
      }
    }
    // Turn cap: one last request for the answer, without tools.
    messages.push({ role: "user", content: turnCapMessage(o.contractTag, o.maxTurns) });
    let last: ChatResult;
    try {
      last = await ask({ tool_choice: "none" });
    } catch (e) {
      if (isPermanent(e)) return finish("error", { error: (e as Error).message });
      throw e;
    }
    messages.push({ ...last.message, role: "assistant" });
    return conclude(last.message.content, "turn_cap");
  };

  try {
    const trace = await play();
    // The verifier judges what the agent left in its container: it opens one if no tool ran.
    // timings.duration_ms stays the agent's own; the verifier's is in its result.
    if (o.verify) trace.verification = await o.verify(session ?? (await openSandbox()));
    return trace;
  } finally {
    const closing = opening?.then(
      (s) => s.close(),
      () => undefined,
    );
    if (closing && o.onClosing) o.onClosing(closing);
    else await closing;
  }
}

/** The wire form of a recorded message: reasoning stays in the trace, not in the next request. */
function forWire(m: ChatMessage): ChatMessage {
  if (m.reasoning === undefined) return m;
  const { reasoning: _reasoning, ...rest } = m;
  return rest;
}
