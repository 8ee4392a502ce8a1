import type { OrchestratorTrace } from "../bench/types.js";
import { ARM_COLORS, armsOf, changeText, diffText, meanText, pointsText, pValueText, referenceOf, resolveText, SHOWN_METRICS, standinNotes, cliNotes } from "./bench-figures.js";
import { benchDrillDown, modelLabel } from "./bench-traces.js";
import type { BenchReportInput } from "./bench-types.js";
import { CSS } from "./html-parts.js";
import { barChart, escapeXml as esc, lineChart, type Series } from "./svg.js";

const BENCH_CSS = `
.arms{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:10px;padding:10px}
details.delegation{border:1px solid #d7e3f4;border-radius:4px;margin:4px 0 4px 12px;background:#f8fbff}
details.delegation>summary{cursor:pointer;padding:4px 8px;font-size:12px}.subtrace{padding:4px 8px}
.msg.answer{border-color:#137333}.standin{color:#8a5a00;font-weight:normal}.diff{display:block;font-size:12px;color:#555}
`;

/** Who played each arm's subagents, read from the delegations' traces (an arm that never delegated says so). */
function playersOf(arm: string, traces: readonly OrchestratorTrace[]): string {
  if (arm === "none") return `<span class="muted">none offered</span>`;
  const models = new Map<string, string>();
  for (const t of traces) if (t.arm === arm) for (const d of t.delegations) models.set(`${d.subagent} ${d.trace.model.name} ${d.trace.model.base_url}`, `${esc(d.subagent)}: ${modelLabel(d.trace.model)}`);
  return models.size ? [...models.values()].sort().join("<br>") : `<span class="muted">never delegated to</span>`;
}

function armsTable(input: BenchReportInput, traces: readonly OrchestratorTrace[]): string {
  const head = `<tr><th>arm</th><th>subagents played by</th><th>items</th><th>resolved (95% interval)</th>${SHOWN_METRICS.map(([, label]) => `<th>${esc(label)} / item</th>`).join("")}</tr>`;
  const rows = armsOf(input.result).map(
    (s) =>
      `<tr data-arm="${esc(s.arm)}"><th>${esc(s.arm)}</th><td>${playersOf(s.arm, traces)}</td><td class="num">${s.items}</td><td class="num">${esc(resolveText(s))}</td>${SHOWN_METRICS.map(([m]) => `<td class="num" data-metric="${m}">${esc(meanText(m, s.metrics[m]))}</td>`).join("")}</tr>`,
  );
  return `<table id="arms"><thead>${head}</thead><tbody>${rows.join("")}</tbody></table>`;
}

function comparisonTables(input: BenchReportInput): string {
  const entries = Object.entries(input.result.comparisons).filter(([, list]) => list.length);
  if (!entries.length) return `<p class="muted">No comparisons: the benchmark runs neither none nor teacher beside another arm.</p>`;
  return entries
    .map(([key, list]) => {
      const ref = referenceOf(key);
      const head = `<tr><th>arm</th><th>paired tasks</th><th>resolve rate (points)</th><th>McNemar p (b / c)</th>${SHOWN_METRICS.map(([, label]) => `<th>${esc(label)}</th>`).join("")}</tr>`;
      const rows = list.map((c) => {
        const mc = c.resolved.mcnemar;
        const only = c.tasks.only_arm.length + c.tasks.only_reference.length;
        const metrics = SHOWN_METRICS.map(([m]) => `<td class="num">${esc(changeText(m, c.metrics[m]))}<span class="diff">${esc(diffText(m, c.metrics[m]))}</span></td>`).join("");
        return `<tr data-arm="${esc(c.arm)}"><th>${esc(c.arm)}</th><td class="num">${c.tasks.paired}${only ? ` <span class="muted">(${only} unpaired left out)</span>` : ""}</td><td class="num">${esc(pointsText(c.resolved.rate))}</td><td class="num">${pValueText(mc.p_value)} (${mc.b} / ${mc.c})</td>${metrics}</tr>`;
      });
      return `<h3>against ${esc(ref)}</h3><table class="comparison" id="${esc(key)}"><thead>${head}</thead><tbody>${rows.join("")}</tbody></table>`;
    })
    .join("");
}

function charts(input: BenchReportInput): string {
  const arms = armsOf(input.result);
  const color = (a: string): string => ARM_COLORS[a] ?? "#333";
  const priced = arms.filter((s) => s.metrics.cost_usd?.mean !== null && s.metrics.cost_usd?.mean !== undefined && s.metrics.cost_usd.unmeasured === 0);
  const unpriced = arms.filter((s) => !priced.includes(s)).map((s) => s.arm);
  const points: Series[] = priced.map((s) => ({ name: s.arm, color: color(s.arm), points: [{ x: s.metrics.cost_usd!.mean!, y: s.resolve_rate }] }));
  const scatter = lineChart("Cost against resolve rate (one point per arm)", points, { xLabel: "cost per item (USD)", yLabel: "resolve rate", xMin: 0, yMax: 1 });
  const tokenGroups = [
    { label: "main agent", metric: "main_tokens" },
    { label: "subagents", metric: "subagent_tokens" },
  ].map((g) => ({ label: g.label, values: arms.map((s) => ({ name: s.arm, value: s.metrics[g.metric]?.mean ?? null, color: color(s.arm) })) }));
  const bars = barChart("Tokens per item", tokenGroups);
  const left = unpriced.length ? `<p class="muted">Not plotted, cost unknown: ${esc(unpriced.join(", "))}.</p>` : "";
  return `<div id="charts">${scatter}${bars}</div>${left}`;
}

/** The benchmark's static page: no scripts, no network; charts are inline SVG, traces open with <details>. */
export function renderBenchHtml(input: BenchReportInput): string {
  const r = input.result;
  const traces = Object.values(input.traces);
  const notes = [...standinNotes(traces), ...cliNotes(traces), ...input.notes];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>sabuild benchmark: ${esc(r.benchmark)}</title><style>${CSS}${BENCH_CSS}</style></head>
<body>
<h1>bench/${esc(r.benchmark)}</h1>
<p class="muted">${r.tasks} task${r.tasks === 1 ? "" : "s"} x ${r.samples} sample${r.samples === 1 ? "" : "s"} in ${r.arms.length} arm${r.arms.length === 1 ? "" : "s"} (${esc(r.arms.join(", "))}). Generated ${esc(input.generatedAt)} by sabuild.</p>
${notes.map((n) => `<div class="note">${esc(n)}</div>`).join("")}
<h2>Arms</h2>${armsTable(input, traces)}
<p class="muted">An item is one run of a task (task x sample); figures are means per item. The resolve interval is Wilson's, over items.</p>
<h2>Comparisons</h2><p class="muted">Each arm minus the reference, paired by task, with 95% bootstrap intervals over tasks: the change relative to the reference's mean, and below it the mean difference. McNemar's exact test on each task's majority outcome (b: only the reference resolved it; c: only the arm).</p>${comparisonTables(input)}
<h2>Charts</h2>${charts(input)}
<h2>Tasks</h2><p class="muted">Open a task to see each arm's orchestrator trace; open a delegation to see the subagent's own turns.</p><div id="tasks">${benchDrillDown(r, input.traces)}</div>
</body></html>
`;
}
