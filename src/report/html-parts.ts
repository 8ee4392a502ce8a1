/** What the subagent's and the benchmark's report pages share: the style sheet, number formats and a chat message. */
import type { ChatMessage } from "../llm/types.js";
import type { Trace } from "../traces/types.js";
import { escapeXml as esc } from "./svg.js";

export const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d1d1f;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f7}.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#777}
.ok{color:#137333}.bad{color:#b3261e}.note{background:#fff8e1;border:1px solid #f0d98c;padding:6px 10px;margin:6px 0}
.chart{margin:8px 16px 8px 0}.chart-title{font-weight:600;font-size:13px}.tick{font-size:11px;fill:#555}.axis{stroke:#999}
details.task{border:1px solid #ddd;margin:6px 0;border-radius:4px}details.task>summary{cursor:pointer;padding:6px 10px;background:#fafafa}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px;padding:10px}.trace{min-width:0}
.msg{border-left:3px solid #ccc;margin:4px 0;padding:2px 8px;white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,monospace}
.msg.assistant{border-color:#2f7ed8}.msg.tool{border-color:#9aa0a6;background:#f7f7f7}.msg.user{border-color:#e07b39}.msg.system{border-color:#ccc;color:#666}
.role{font-weight:600;font-family:system-ui}
`;

export function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "n/a" : `${(v * 100).toFixed(1)}%`;
}

export function num(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);
}

export function usd(v: number | null | undefined): string {
  return v === null || v === undefined ? "n/a" : `$${v < 0.01 && v > 0 ? v.toExponential(2) : v.toFixed(4)}`;
}

export function ms(v: number | undefined): string {
  if (v === undefined) return "";
  return v >= 60_000 ? `${(v / 60_000).toFixed(1)} min` : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}

export function renderMessage(m: ChatMessage): string {
  const parts: string[] = [];
  if (m.reasoning) parts.push(`<div class="muted">(reasoning) ${esc(m.reasoning)}</div>`);
  if (m.content) parts.push(esc(m.content));
  for (const c of m.tool_calls ?? []) parts.push(`→ ${esc(c.function.name)}(${esc(c.function.arguments)})`);
  return `<div class="msg ${m.role}"><span class="role">${m.role}${m.role === "tool" && m.tool_call_id ? ` ${esc(m.tool_call_id)}` : ""}</span>\n${parts.join("\n")}</div>`;
}

/** The task verifier's verdict after `lead` (" · " in a trace's heading, ", " in a task's line); nothing without one. */
export function verifierBadge(verified: boolean | undefined, lead: string): string {
  if (verified === undefined) return "";
  return `${lead}<span class="verifier ${verified ? "ok" : "bad"}">tests ${verified ? "passed" : "failed"}</span>`;
}

/** What the verifier's run left to read: its error, or the tests that did not pass, and the output's end. */
export function verifierDetail(trace: Trace): string {
  const v = trace.verification;
  if (!v) return "";
  const failing = [...(v.tests?.fail_to_pass_failed ?? []), ...(v.tests?.pass_to_pass_failed ?? [])];
  const lines = [
    `exit ${v.exit_code ?? "none"}${v.timed_out ? " (timed out)" : ""} · reward ${num(v.reward)} · ${ms(v.duration_ms)}`,
    ...(v.error ? [`error: ${v.error}`] : []),
    ...(failing.length ? [`failing tests: ${failing.join(", ")}`] : []),
  ];
  return `<details class="verification"><summary>verifier output</summary><div class="msg tool">${esc(lines.join("\n"))}${v.output_tail ? `\n${esc(v.output_tail)}` : ""}</div></details>`;
}
