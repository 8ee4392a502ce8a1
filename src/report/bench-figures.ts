/**
 * The benchmark report's figures as text, shared by the page and the markdown summary so both
 * say the same thing: an unpriced cost is "unknown", never $0, and every difference carries its
 * 95% interval. The arithmetic is bench.json's; nothing here computes a statistic.
 */
import type { BenchResultFile } from "../artifacts/bench.js";
import { perItemText, pointsText, relativeText } from "../bench/render.js";
import type { ArmSummary, MetricSummary, PairedDifference } from "../bench/stats.js";
import type { OrchestratorTrace } from "../bench/types.js";
import { standinPolicyOf } from "../llm/teacher-params.js";

export { pointsText, relativeText };

/** The per-item figures both tables show, in this order, with their labels. */
export const SHOWN_METRICS: readonly [metric: string, label: string][] = [
  ["main_tokens", "main-agent tokens"],
  ["terminal_calls", "terminal calls"],
  ["delegations", "delegations"],
  ["subagent_tokens", "subagent tokens"],
  ["cost_usd", "cost"],
];

export const ARM_COLORS: Record<string, string> = { none: "#5f6368", teacher: "#e07b39", base: "#9aa0a6", student: "#2f7ed8", routed: "#16a34a" };

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** "2/3 (66.7%) [20.8%, 93.9%]": resolved items with the Wilson interval. */
export function resolveText(s: ArmSummary): string {
  const interval = s.resolve_interval ? ` [${pct(s.resolve_interval.low)}, ${pct(s.resolve_interval.high)}]` : "";
  return `${s.resolved}/${s.items} (${pct(s.resolve_rate)})${interval}`;
}

/**
 * An arm's mean per item. A cost some items could not price is "unknown": a mean over the
 * priced ones alone would understate it.
 */
export function meanText(metric: string, m: MetricSummary | undefined): string {
  if (!m) return "-";
  if (metric === "cost_usd" && m.unmeasured > 0) return m.measured ? `unknown (${m.unmeasured} of ${m.measured + m.unmeasured} items unpriced)` : "unknown";
  return perItemText(metric, m.mean);
}

/** "+120 [+80, +160]" (or dollars for cost): the arm's mean minus the reference's, per task. */
export function diffText(metric: string, d: PairedDifference | undefined): string {
  if (!d || d.mean_diff === null) return metric === "cost_usd" && d && d.unmeasured > 0 ? "unknown" : "n/a";
  const f = (x: number): string => {
    const sign = x >= 0 ? "+" : "-";
    const a = Math.abs(x);
    return metric === "cost_usd" ? `${sign}$${a.toFixed(4)}` : `${sign}${a >= 100 ? Math.round(a) : a.toFixed(1)}`;
  };
  return `${f(d.mean_diff)}${d.mean_diff_interval ? ` [${f(d.mean_diff_interval.low)}, ${f(d.mean_diff_interval.high)}]` : ""}`;
}

/** The relative change, or "unknown" for a cost nobody could price (relativeText says n/a for a reference of 0). */
export function changeText(metric: string, d: PairedDifference | undefined): string {
  if (metric === "cost_usd" && d && d.tasks === 0 && d.unmeasured > 0) return "unknown";
  return relativeText(d);
}

export function pValueText(p: number): string {
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** "vs_none" -> "none". */
export function referenceOf(key: string): string {
  return key.replace(/^vs_/, "");
}

/**
 * One note per stand-in that played in the benchmark (the main agent, or a subagent in an arm),
 * read from the traces' model identity: the figures then show the pipeline working, not a model.
 */
export function standinNotes(traces: readonly OrchestratorTrace[]): string[] {
  const seen = new Map<string, string>();
  for (const t of traces) {
    const main = standinPolicyOf(t.model.base_url);
    if (main) seen.set(`main ${main}`, `The main agent (${t.model.name}) is a scripted stand-in (${main}), not a model.`);
    for (const d of t.delegations) {
      const sub = standinPolicyOf(d.trace.model.base_url);
      if (sub) seen.set(`${t.arm} ${d.subagent} ${sub}`, `In the ${t.arm} arm, the ${d.subagent} subagent (${d.trace.model.name}) is a scripted stand-in (${sub}), not a model.`);
    }
  }
  if (!seen.size) return [];
  return [...[...seen.values()].sort(), "With stand-ins these figures show the benchmark working, not the quality or cost of real models."];
}

/** Which CLI played the main agent, when one did (orchestrator.kind claude-code or command), read from the traces. */
export function cliNotes(traces: readonly OrchestratorTrace[]): string[] {
  const seen = new Set<string>();
  for (const t of traces) {
    if (t.cli?.kind === "claude-code") seen.add(`The main agent ran in Claude Code${t.cli.version ? ` ${t.cli.version}` : ""} (claude -p in each task's container); its figures are Claude Code's own account.`);
    else if (t.cli?.kind === "command") seen.add("The main agent ran as the benchmark's command in each task's container; its figures are the usage JSON it printed.");
  }
  return [...seen].sort();
}

/** The arms in bench.json's order, each with its summary. */
export function armsOf(r: BenchResultFile): ArmSummary[] {
  return r.arms.flatMap((a) => r.summary.filter((s) => s.arm === a));
}
