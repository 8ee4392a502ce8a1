import type { EvalRole, ModelSummary } from "../eval/types.js";
import type { Trace } from "../traces/types.js";
import { CSS, ms, num, pct, renderMessage, usd, verifierBadge, verifierDetail } from "./html-parts.js";
import { barChart, escapeXml as esc, lineChart, type BarGroup } from "./svg.js";
import type { ReportInput } from "./types.js";

const ROLES: EvalRole[] = ["student", "base", "teacher"];
const COLORS: Record<EvalRole, string> = { student: "#2f7ed8", base: "#9aa0a6", teacher: "#e07b39" };

/** "66.7% (2 of 3)": a model's verified success over the tasks with a verifier. */
function verifiedText(v: ModelSummary["verified"]): string {
  return v ? `${pct(v.success_rate)} (${v.passed} of ${v.tasks})` : "n/a";
}

function stagesTable(input: ReportInput): string {
  const rows = input.stages
    .map((s) => `<tr><td>${esc(s.kind)}</td><td>${esc(s.status)}</td><td class="num">${ms(s.durationMs)}</td><td class="num">${s.costUsd !== undefined ? usd(s.costUsd) : ""}</td><td>${esc(s.detail ?? "")}</td></tr>`)
    .join("");
  return `<table id="stages"><thead><tr><th>stage</th><th>status</th><th>time</th><th>cost</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function evalTable(models: Partial<Record<EvalRole, ModelSummary>>, ratios: Record<string, number | null>): string {
  const present = ROLES.filter((r) => models[r]);
  const dims = [...new Set(present.flatMap((r) => Object.keys(models[r]!.judge?.dimensions ?? {})))].sort();
  const modes = [...new Set(present.flatMap((r) => Object.keys(models[r]!.failure_modes)))].sort();
  const row = (label: string, cell: (m: ModelSummary) => string): string =>
    `<tr><th>${esc(label)}</th>${present.map((r) => `<td class="num">${cell(models[r]!)}</td>`).join("")}</tr>`;
  const rows = [
    row("model", (m) => esc(m.model.name)),
    row("tasks", (m) => String(m.tasks)),
    row("success rate", (m) => pct(m.success_rate)),
    // The tasks' own tests beside the judge: ground truth where a task has a verifier.
    ...(present.some((r) => models[r]!.verified) ? [row("verified success", (m) => verifiedText(m.verified))] : []),
    row("judge score", (m) => num(m.judge?.score)),
    ...dims.map((d) => row(`  ${d}`, (m) => num(m.judge?.dimensions[d]))),
    ...modes.map((f) => row(`failure: ${f}`, (m) => String(m.failure_modes[f] ?? 0))),
    row("turns / task", (m) => num(m.turns_mean, 1)),
    row("tool calls / task", (m) => num(m.tool_calls_mean, 1)),
    row("tokens / task", (m) => num(m.tokens.per_task, 0)),
    // What the orchestrator reads back: it pays for every token (absent in older evals).
    ...(present.some((r) => models[r]!.answer_tokens) ? [row("answer tokens (mean / p95)", (m) => (m.answer_tokens ? `${num(m.answer_tokens.mean, 0)} / ${num(m.answer_tokens.p95, 0)}` : "n/a"))] : []),
    row("latency p50", (m) => ms(m.latency_ms.p50)),
    row("latency p95", (m) => ms(m.latency_ms.p95)),
    row("cost / task", (m) => usd(m.cost_per_task_usd)),
  ];
  const ratioRows = Object.entries(ratios)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td class="num">${v === null ? "n/a" : num(v, 3)}</td></tr>`)
    .join("");
  return `<table id="eval-table"><thead><tr><th></th>${present.map((r) => `<th>${r}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>` +
    (ratioRows ? `<h3>student / teacher</h3><table id="ratios"><tbody>${ratioRows}</tbody></table>` : "");
}

function renderTrace(role: EvalRole, trace: Trace | undefined, score: number | undefined, verified: boolean | undefined): string {
  if (!trace) return `<div class="trace" data-role="${role}"><h4>${role}</h4><p class="muted">no trace</p></div>`;
  const head = `<h4>${role}: ${esc(trace.model.name)} <span class="${trace.status === "completed" ? "ok" : "bad"}">${esc(trace.status)}</span>${score !== undefined ? ` · judge ${num(score)}` : ""}${verifierBadge(verified, " · ")} · ${trace.turns} turns · ${trace.tool_calls} tool calls</h4>`;
  const body = trace.messages.filter((m) => m.role !== "system").map(renderMessage).join("");
  return `<div class="trace" data-role="${role}">${head}${trace.error ? `<p class="bad">${esc(trace.error)}</p>` : ""}${verifierDetail(trace)}${body}</div>`;
}

function drillDown(input: ReportInput): string {
  const tasks = input.eval?.tasks ?? [];
  if (tasks.length === 0) return `<p class="muted">No eval tasks.</p>`;
  return tasks
    .map((t, i) => {
      const traceOf = (r: EvalRole): Trace | undefined => (t.results[r] ? input.traces[t.results[r]!.trace] : undefined);
      // eval.json's verdict, else the trace's own (an eval.json written before it recorded one).
      const verifiedOf = (r: EvalRole): boolean | undefined => t.results[r]?.verified ?? traceOf(r)?.verification?.passed;
      const cells = ROLES.filter((r) => t.results[r])
        .map((r) => {
          const res = t.results[r]!;
          return `<span class="${res.success ? "ok" : "bad"}">${r}: ${res.success ? "pass" : esc(res.status)}</span>${verifierBadge(verifiedOf(r), ", ")}`;
        })
        .join(" · ");
      const pair = (["student", "teacher"] as const).map((r) => renderTrace(r, traceOf(r), t.results[r]?.score, verifiedOf(r))).join("");
      return `<details class="task" id="task-${i}" data-task="${esc(t.id)}"><summary>${esc(t.prompt)} — ${cells}</summary><div class="pair">${pair}</div></details>`;
    })
    .join("");
}

/** The static report page: no scripts, no network; charts are inline SVG. */
export function renderReportHtml(input: ReportInput): string {
  const ev = input.eval;
  const present = ev ? ROLES.filter((r) => ev.models[r]) : [];
  const charts: string[] = [];
  if (input.training && input.training.loss.length) {
    const series = [{ name: "train loss", color: COLORS.student, points: input.training.loss.map((p) => ({ x: p.step, y: p.loss })) }];
    if (input.training.evalLoss?.length) series.push({ name: "validation loss", color: COLORS.teacher, points: input.training.evalLoss.map((p) => ({ x: p.step, y: p.loss })) });
    charts.push(lineChart("Training loss", series, { xLabel: "step" }));
  }
  if (ev && present.length) {
    const success: BarGroup[] = [{ label: "held-out tasks", values: present.map((r) => ({ name: r, value: ev.models[r]!.success_rate, color: COLORS[r] })) }];
    if (present.some((r) => ev.models[r]!.verified)) {
      success.push({ label: "verified by tests", values: present.map((r) => ({ name: r, value: ev.models[r]!.verified?.success_rate ?? null, color: COLORS[r] })) });
    }
    charts.push(barChart("Success rate", success, { max: 1, percent: true }));
    const dims = [...new Set(present.flatMap((r) => Object.keys(ev.models[r]!.judge?.dimensions ?? {})))].sort();
    if (dims.length) {
      charts.push(barChart("Judge score per dimension", dims.map((d) => ({ label: d, values: present.map((r) => ({ name: r, value: ev.models[r]!.judge?.dimensions[d] ?? null, color: COLORS[r] })) })), { max: 1 }));
    }
    charts.push(barChart("Cost per task (USD)", [{ label: "cost", values: present.map((r) => ({ name: r, value: ev.models[r]!.cost_per_task_usd, color: COLORS[r] })) }]));
  }
  const targets = ev?.targets.length
    ? `<table id="targets"><thead><tr><th>target</th><th>expected</th><th>actual</th><th></th></tr></thead><tbody>${ev.targets
        .map((t) => `<tr><td>${esc(t.name)}</td><td>${esc(t.expected)}</td><td class="num">${num(t.actual, 3)}</td><td class="${t.ok ? "ok" : "bad"}">${t.ok ? "met" : "missed"}</td></tr>`)
        .join("")}</tbody></table>`
    : `<p class="muted">No targets set.</p>`;
  const gate = ev
    ? ev.gate.enabled
      ? `<p class="${ev.gate.passed ? "ok" : "bad"}">Targets gate the build: ${ev.gate.passed ? "passed" : "missed"}.</p>`
      : `<p class="muted">Targets do not gate the build${ev.gate.reason ? `: ${esc(ev.gate.reason)}` : ""}.</p>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>sabuild report: ${esc(input.subagent)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(input.subagent)}</h1>
<p class="muted">${esc(input.description ?? "")}</p>
<p class="muted">Generated ${esc(input.generatedAt)} by sabuild.</p>
${input.notes.map((n) => `<div class="note">${esc(n)}</div>`).join("")}
<h2>Pipeline</h2>${stagesTable(input)}
<h2>Charts</h2><div id="charts">${charts.join("") || `<p class="muted">No training or eval results yet.</p>`}</div>
<h2>Eval on held-out tasks</h2>${ev ? evalTable(ev.models, ev.ratios) : `<p class="muted">Not evaluated yet.</p>`}
<h2>Targets</h2>${gate}${targets}
<h2>Tasks</h2><p class="muted">Open a task to see the student's and the teacher's traces side by side.</p><div id="tasks">${drillDown(input)}</div>
</body></html>
`;
}
