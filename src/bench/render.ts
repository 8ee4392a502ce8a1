import type { ArmSummary, Comparison, PairedDifference } from "./stats.js";

/** bench.json as the `bench` command reads it. */
export interface BenchResult {
  benchmark: string;
  arms: string[];
  samples: number;
  tasks: number;
  summary: ArmSummary[];
  comparisons: Record<string, Comparison[]>;
}

/** The figures the terminal shows (bench.json has them all). */
const SHOWN: [metric: string, label: string][] = [
  ["main_tokens", "main tokens"],
  ["terminal_calls", "terminal calls"],
  ["delegations", "delegations"],
  ["cost_usd", "cost"],
];

/** A benchmark's result for a terminal: one line per arm, then each comparison with its interval. */
export function renderBench(r: BenchResult): string[] {
  const lines = [`bench/${r.benchmark}: ${r.tasks} task${r.tasks === 1 ? "" : "s"} x ${r.samples} sample${r.samples === 1 ? "" : "s"}`];
  const rows = [["arm", "resolved", ...SHOWN.map(([, label]) => `${label}/item`)]];
  for (const s of r.summary) {
    const rate = `${s.resolved}/${s.items} (${Math.round(s.resolve_rate * 100)}%)`;
    rows.push([s.arm, rate, ...SHOWN.map(([m]) => perItemText(m, s.metrics[m]?.mean ?? null))]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()}`);
  for (const [name, list] of Object.entries(r.comparisons)) {
    for (const c of list) {
      const parts = [`resolve ${pointsText(c.resolved.rate)}`, ...SHOWN.map(([m, label]) => `${label} ${relativeText(c.metrics[m])}`)];
      lines.push(`  ${c.arm} ${name.replace("_", " ")} (${c.tasks.paired} paired tasks, 95% intervals): ${parts.join(", ")}`);
    }
  }
  return lines;
}

/** An arm's mean per item: "unknown" for an unpriced cost (never $0), "-" for a figure nobody measured. */
export function perItemText(metric: string, value: number | null): string {
  if (value === null) return metric === "cost_usd" ? "unknown" : "-";
  if (metric === "cost_usd") return `$${value.toFixed(4)}`;
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

/** A resolve-rate difference in percentage points. */
export function pointsText(d: PairedDifference): string {
  if (d.mean_diff === null) return "n/a";
  const pts = (x: number): string => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}`;
  return `${pts(d.mean_diff)} pts${d.mean_diff_interval ? ` [${pts(d.mean_diff_interval.low)}, ${pts(d.mean_diff_interval.high)}]` : ""}`;
}

/** A metric's change as a percentage of the reference (or n/a when the reference is 0 or unmeasured). */
export function relativeText(d: PairedDifference | undefined): string {
  if (!d || d.relative_pct === null) return "n/a";
  const pct = (x: number): string => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;
  return `${pct(d.relative_pct)}${d.relative_interval ? ` [${pct(d.relative_interval.low)}, ${pct(d.relative_interval.high)}]` : ""}`;
}
