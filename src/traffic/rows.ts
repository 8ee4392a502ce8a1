import { datasetTraceSchema, type ReadTrace } from "../dataset/read-traces.js";
import { isHeldOut } from "../stages/tasks.js";
import { checkContract } from "../traces/contract.js";
import { readTraffic } from "./read.js";
import { recordedTaskId } from "./summary.js";
import type { TrafficRecord } from "./types.js";

type Json = Record<string, unknown>;

/**
 * Delegations the teacher answered instead of the student (dataset.include_escalations), as
 * traces the dataset turns into rows like any other: the student was weak exactly there. MCP
 * records carry the teacher's whole agent loop; a gateway record is one turn, the conversation
 * as sent plus the teacher's reply (a final reply must hold the contract). A prompt that is a
 * held-out task stays out, so eval never scores a task the student was trained on. The task id
 * is the recorded prompt's, as tasks.from_recorded names it.
 */
export async function escalationTraces(store: string, subagent: string, o: { holdout: number; contractTag: string }): Promise<ReadTrace[]> {
  const { records } = await readTraffic(store, subagent);
  const out: ReadTrace[] = [];
  for (const { record } of records) {
    if (record.answered_by !== "teacher" || !record.prompt.trim()) continue;
    if (isHeldOut(record.prompt, o.holdout)) continue;
    const item = `traffic-${record.id}`;
    const parsed = datasetTraceSchema.safeParse(record.mode === "mcp" ? record.trace : gatewayTrace(record, o.contractTag));
    if (!parsed.success) {
      out.push({ item, problem: `recorded delegation ${record.id}: not a conversation the dataset can read (${parsed.error.issues[0]?.message ?? "invalid"})` });
      continue;
    }
    out.push({ item, trace: { ...parsed.data, subagent, task: { ...parsed.data.task, id: recordedTaskId(record.prompt) } } });
  }
  return out;
}

function gatewayTrace(r: TrafficRecord, tag: string): unknown {
  const reply = (r.reply ?? {}) as Json;
  const calls = Array.isArray(reply.tool_calls) ? reply.tool_calls.length : 0;
  const final = calls === 0;
  const messages = [...(r.request?.messages ?? []), { role: "assistant", content: typeof reply.content === "string" ? reply.content : null, ...(calls ? { tool_calls: reply.tool_calls } : {}) }];
  return {
    subagent: r.subagent,
    sample: 0,
    status: "completed",
    messages,
    tools: r.request?.tools ?? [],
    turns: messages.filter((m) => (m as Json).role === "assistant").length,
    tool_calls: calls,
    tool_errors: 0,
    task: { id: "recorded" },
    model: { name: "teacher" },
    contract: { tag, ok: final ? checkContract(typeof reply.content === "string" ? reply.content : "", tag).ok : true },
  };
}
