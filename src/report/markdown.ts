import type { EvalRole } from "../eval/types.js";
import type { ReportInput } from "./types.js";

const ROLES: EvalRole[] = ["student", "base", "teacher"];

function cell(v: number | null | undefined, kind: "pct" | "num" | "usd" | "ms"): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "n/a";
  if (kind === "pct") return `${(v * 100).toFixed(1)}%`;
  if (kind === "usd") return `$${v.toFixed(4)}`;
  if (kind === "ms") return `${Math.round(v)} ms`;
  return v.toFixed(2);
}

/** A short summary for CI comments (GitHub renders the table). */
export function renderReportMarkdown(input: ReportInput): string {
  const lines = [`### sabuild: ${input.subagent}`, ""];
  for (const n of input.notes) lines.push(`> ${n}`, "");
  const ev = input.eval;
  if (!ev) {
    lines.push("Not evaluated yet.", "");
  } else {
    const present = ROLES.filter((r) => ev.models[r]);
    lines.push(`| | ${present.join(" | ")} |`, `|---|${present.map(() => "---:").join("|")}|`);
    const row = (label: string, f: (r: EvalRole) => string): string => `| ${label} | ${present.map(f).join(" | ")} |`;
    lines.push(row("success rate", (r) => cell(ev.models[r]!.success_rate, "pct")));
    if (present.some((r) => ev.models[r]!.verified)) {
      lines.push(row("verified success", (r) => {
        const v = ev.models[r]!.verified;
        return v ? `${cell(v.success_rate, "pct")} (${v.passed}/${v.tasks})` : "n/a";
      }));
    }
    lines.push(row("judge score", (r) => cell(ev.models[r]!.judge?.score, "num")));
    lines.push(row("turns / task", (r) => cell(ev.models[r]!.turns_mean, "num")));
    if (present.some((r) => ev.models[r]!.answer_tokens)) lines.push(row("answer tokens", (r) => cell(ev.models[r]!.answer_tokens?.mean, "num")));
    lines.push(row("latency p50", (r) => cell(ev.models[r]!.latency_ms.p50, "ms")));
    lines.push(row("cost / task", (r) => cell(ev.models[r]!.cost_per_task_usd, "usd")));
    lines.push("");
    for (const t of ev.targets) lines.push(`- ${t.ok ? "✅" : "❌"} \`${t.name} ${t.expected}\` (actual ${cell(t.actual, "num")})`);
    if (ev.targets.length) lines.push("");
    lines.push(ev.gate.enabled ? `Gate: **${ev.gate.passed ? "passed" : "missed"}**.` : `Gate: off${ev.gate.reason ? ` (${ev.gate.reason})` : ""}.`, "");
  }
  const timed = input.stages.filter((s) => s.durationMs !== undefined);
  if (timed.length) lines.push(`Stages: ${timed.map((s) => `${s.kind} ${s.status}${s.durationMs ? ` ${(s.durationMs / 1000).toFixed(1)} s` : ""}`).join(", ")}.`, "");
  return `${lines.join("\n").trimEnd()}\n`;
}
