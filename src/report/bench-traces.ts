/**
 * The benchmark page's drill-down: per task, each arm's orchestrator trace, with each delegation
 * a <details> that opens into the subagent's own trace (its turns never reached the orchestrator,
 * only its answer did, which the tool message above it shows).
 */
import type { BenchItemRow, BenchResultFile } from "../artifacts/bench.js";
import type { Delegation, OrchestratorTrace } from "../bench/types.js";
import type { ChatMessage } from "../llm/types.js";
import { standinPolicyOf } from "../llm/teacher-params.js";
import type { Trace } from "../traces/types.js";
import { renderMessage, usd, verifierBadge, verifierDetail } from "./html-parts.js";
import { escapeXml as esc } from "./svg.js";

/** "scripted-main (stand-in: main.mjs)": who played a trace, saying so when it was no model. */
export function modelLabel(model: Trace["model"]): string {
  const policy = standinPolicyOf(model.base_url);
  return `${esc(model.name)}${policy ? ` <span class="standin">(stand-in: ${esc(policy)})</span>` : ""}`;
}

function tokens(t: Trace): number {
  return t.usage.prompt_tokens + t.usage.completion_tokens;
}

/**
 * Which delegation each delegation-tool call made, by call id. A delegation records the call's
 * subagent and trimmed prompt, not its id; a call with bad arguments made none. Matching by
 * (subagent, prompt) in order pairs them even when two calls ran at once and ended out of order.
 */
function delegationsByCall(messages: readonly ChatMessage[], delegations: readonly Delegation[]): { byCall: Map<string, Delegation>; unmatched: Delegation[] } {
  const left = [...delegations];
  const byCall = new Map<string, Delegation>();
  for (const m of messages) {
    for (const c of m.tool_calls ?? []) {
      let args: unknown;
      try {
        args = JSON.parse(c.function.arguments);
      } catch {
        continue;
      }
      const a = (args ?? {}) as Record<string, unknown>;
      const prompt = typeof a.prompt === "string" ? a.prompt.trim() : undefined;
      const i = left.findIndex((d) => d.subagent === a.subagent_type && d.prompt === prompt);
      if (i >= 0) byCall.set(c.id, left.splice(i, 1)[0]!);
    }
  }
  return { byCall, unmatched: left };
}

function renderDelegation(d: Delegation): string {
  const t = d.trace;
  const head = `delegated to ${esc(d.subagent)}${d.description ? `: ${esc(d.description)}` : ""} — ${modelLabel(t.model)} · <span class="${t.status === "completed" ? "ok" : "bad"}">${esc(t.status)}</span> · ${t.turns} turns · ${t.tool_calls} tool calls · ${tokens(t)} tokens`;
  const body = t.messages.filter((m) => m.role !== "system").map(renderMessage).join("");
  const answer = `<div class="msg answer"><span class="role">answer returned</span>\n${esc(d.answer)}</div>`;
  return `<details class="delegation" data-subagent="${esc(d.subagent)}"><summary>${head}</summary><div class="subtrace">${t.error ? `<p class="bad">${esc(t.error)}</p>` : ""}${body}${answer}</div></details>`;
}

/** The orchestrator's messages, each delegation opening right after the tool result it produced. */
function renderMessages(trace: OrchestratorTrace): string {
  const { byCall, unmatched } = delegationsByCall(trace.messages, trace.delegations);
  const answered = new Set(trace.messages.flatMap((m) => (m.role === "tool" && m.tool_call_id ? [m.tool_call_id] : [])));
  const out: string[] = [];
  for (const m of trace.messages) {
    if (m.role === "system") continue;
    out.push(renderMessage(m));
    if (m.role === "tool" && m.tool_call_id && byCall.has(m.tool_call_id)) out.push(renderDelegation(byCall.get(m.tool_call_id)!));
    // A call whose result is not in the trace (the rollout stopped): its delegation follows the call.
    for (const c of m.role === "assistant" ? (m.tool_calls ?? []) : []) if (!answered.has(c.id) && byCall.has(c.id)) out.push(renderDelegation(byCall.get(c.id)!));
  }
  for (const d of unmatched) out.push(renderDelegation(d));
  return out.join("");
}

function renderItem(row: BenchItemRow, trace: OrchestratorTrace | undefined): string {
  const attrs = `data-arm="${esc(row.arm)}" data-item="${esc(row.id)}"`;
  if (!trace) return `<div class="trace" ${attrs}><h4>${esc(row.arm)} (sample ${row.sample})</h4><p class="muted">no trace</p></div>`;
  const cost = row.cost_usd === null ? "cost unknown" : usd(row.cost_usd);
  const head = `<h4>${esc(row.arm)}${row.sample ? ` (sample ${row.sample})` : ""}: ${modelLabel(trace.model)} <span class="${trace.status === "completed" ? "ok" : "bad"}">${esc(trace.status)}</span>${verifierBadge(trace.verification?.passed, " · ")}</h4>`;
  const figures = `<p class="muted">${trace.turns} turns · ${trace.tool_calls} tool calls · ${trace.delegations.length} delegations · ${row.main_tokens} main-agent tokens · ${esc(cost)}</p>`;
  return `<div class="trace" ${attrs}>${head}${figures}${trace.error ? `<p class="bad">${esc(trace.error)}</p>` : ""}${verifierDetail(trace)}${renderMessages(trace)}</div>`;
}

/** One <details> per task, its items side by side in the benchmark's arm order. */
export function benchDrillDown(r: BenchResultFile, traces: Record<string, OrchestratorTrace>): string {
  const tasks = [...new Set(r.items.map((i) => i.task))];
  if (!tasks.length) return `<p class="muted">No items.</p>`;
  const armOrder = (row: BenchItemRow): number => r.arms.indexOf(row.arm);
  return tasks
    .map((task, i) => {
      const rows = r.items.filter((x) => x.task === task).sort((a, b) => armOrder(a) - armOrder(b) || a.sample - b.sample);
      const prompt = rows.map((x) => traces[x.id]?.task.prompt).find((p) => p !== undefined) ?? "";
      const verdicts = rows
        .map((x) => `<span class="${x.resolved ? "ok" : "bad"}">${esc(x.arm)}${r.samples > 1 ? ` s${x.sample}` : ""}: ${x.resolved ? "resolved" : "not resolved"}</span>`)
        .join(" · ");
      const items = rows.map((x) => renderItem(x, traces[x.id])).join("");
      return `<details class="task" id="task-${i}" data-task="${esc(task)}"><summary><b>${esc(task)}</b> ${esc(prompt)} — ${verdicts}</summary><div class="arms">${items}</div></details>`;
    })
    .join("");
}
