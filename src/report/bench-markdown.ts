import { armsOf, changeText, meanText, pointsText, pValueText, referenceOf, resolveText, SHOWN_METRICS, standinNotes, cliNotes } from "./bench-figures.js";
import type { BenchReportInput } from "./bench-types.js";

/** A cell's text with what would break a GitHub table escaped. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.map(cell).join(" | ")} |`, `|---|${head.slice(1).map(() => "---:").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

/** A benchmark's summary for CI comments: the arms table and the comparisons, with their intervals. */
export function renderBenchMarkdown(input: BenchReportInput): string {
  const r = input.result;
  const lines = [`### sabuild bench: ${r.benchmark}`, "", `${r.tasks} task${r.tasks === 1 ? "" : "s"} x ${r.samples} sample${r.samples === 1 ? "" : "s"}; figures per item (one run of a task), 95% intervals.`, ""];
  for (const n of [...standinNotes(Object.values(input.traces)), ...cliNotes(Object.values(input.traces)), ...input.notes]) lines.push(`> ${n}`, "");
  lines.push(
    ...table(
      ["arm", "resolved", ...SHOWN_METRICS.map(([, label]) => `${label} / item`)],
      armsOf(r).map((s) => [s.arm, resolveText(s), ...SHOWN_METRICS.map(([m]) => meanText(m, s.metrics[m]))]),
    ),
    "",
  );
  for (const [key, list] of Object.entries(r.comparisons)) {
    if (!list.length) continue;
    lines.push(`Against ${referenceOf(key)} (paired by task):`, "");
    lines.push(
      ...table(
        ["arm", "paired tasks", "resolve (points)", "McNemar p", ...SHOWN_METRICS.map(([, label]) => label)],
        list.map((c) => [c.arm, String(c.tasks.paired), pointsText(c.resolved.rate), pValueText(c.resolved.mcnemar.p_value), ...SHOWN_METRICS.map(([m]) => changeText(m, c.metrics[m]))]),
      ),
      "",
    );
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
