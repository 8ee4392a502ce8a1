import type { CostQualityCurve } from "../route/curve.js";
import { escapeXml as esc, lineChart } from "./svg.js";

// The learned router's cost-quality curve on the report: success against the share sent to the
// teacher, RouteLLM's figures, and a table of thresholds (what `route calibrate` chooses from).

const pct = (x: number | null): string => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`);
const cpt = (x: number | null): string => (x === null ? "n/a" : `${x.toFixed(1)}% to the teacher`);

export function routingFigures(c: CostQualityCurve): string {
  return `APGR ${c.apgr === null ? "n/a" : c.apgr.toFixed(3)}, CPT(50%) ${cpt(c.cpt50)}, CPT(80%) ${cpt(c.cpt80)} over ${c.tasks} eval tasks (student ${pct(c.student.success)}, teacher ${pct(c.teacher.success)})`;
}

const tokens = (x: number | null): string => (x === null ? "n/a" : String(Math.round(x)));

/** Where the main-agent tokens column comes from, or why it is empty. */
export function mainTokensNote(c: CostQualityCurve): string {
  const s = c.main_agent_tokens_source;
  if (!s) return `Main-agent tokens: n/a (${c.main_agent_tokens_missing ?? "no benchmark"})`;
  const none = s.none === null ? "" : `; ${Math.round(s.none)} with no subagent`;
  return `Main-agent tokens per task from ${s.benchmarks.join(", ")} (${s.tasks} tasks in both arms): ${Math.round(s.student)} with the student, ${Math.round(s.teacher)} with the teacher${none}`;
}

/** Thresholds every 0.1, the table's rows (the curve holds every 0.05). */
const shown = (c: CostQualityCurve) => c.points.filter((p) => Math.round(p.threshold * 100) % 10 === 0);

export function routingHtml(c: CostQualityCurve): string {
  const chart = lineChart(
    "Learned router: success vs share to the teacher",
    [
      { name: "router", color: "#2563eb", points: [...c.points].sort((a, b) => a.escalated - b.escalated).map((p) => ({ x: p.escalated, y: p.success })) },
      { name: "all student", color: "#16a34a", points: [{ x: 0, y: c.student.success }] },
      { name: "all teacher", color: "#9333ea", points: [{ x: 1, y: c.teacher.success }] },
    ],
    { xLabel: "share sent to the teacher", yLabel: "success", xMin: 0, yMax: 1 },
  );
  const rows = shown(c)
    .map((p) => `<tr><td class="num">${p.threshold.toFixed(1)}</td><td class="num">${pct(p.escalated)}</td><td class="num">${pct(p.success)}</td><td class="num">$${p.cost_per_task_usd.toFixed(5)}</td><td class="num">${tokens(p.main_agent_tokens)}</td></tr>`)
    .join("");
  return `<p>${esc(routingFigures(c))}. Set route.threshold with <code>sabuild route calibrate</code>.</p>${chart}<p>${esc(mainTokensNote(c))}.</p><table id="routing"><thead><tr><th>threshold</th><th>to teacher</th><th>success</th><th>cost / task</th><th>main-agent tokens / task</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function routingMarkdown(c: CostQualityCurve): string[] {
  return [
    `Learned router: ${routingFigures(c)}.`,
    `${mainTokensNote(c)}.`,
    "",
    "| threshold | to teacher | success | cost / task | main-agent tokens / task |",
    "|---:|---:|---:|---:|---:|",
    ...shown(c).map((p) => `| ${p.threshold.toFixed(1)} | ${pct(p.escalated)} | ${pct(p.success)} | $${p.cost_per_task_usd.toFixed(5)} | ${tokens(p.main_agent_tokens)} |`),
    "",
  ];
}
