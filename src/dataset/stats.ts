import type { DatasetStats, DropReason, SplitStats, Summary, TrainingRow } from "./types.js";

/** A kept row with what stats need from its trace. */
export interface CountedRow {
  row: TrainingRow;
  tokens: number;
  turns: number;
  toolErrors: number;
}

export function summarize(values: number[]): Summary {
  if (!values.length) return { min: 0, mean: 0, max: 0, total: 0 };
  const total = values.reduce((a, b) => a + b, 0);
  return { min: Math.min(...values), mean: Math.round((total / values.length) * 10) / 10, max: Math.max(...values), total };
}

function splitStats(rows: CountedRow[]): SplitStats {
  return { rows: rows.length, tasks: new Set(rows.map((r) => r.row.meta.task_id)).size, tokens: summarize(rows.map((r) => r.tokens)) };
}

export function datasetStats(input: {
  traces: number;
  train: CountedRow[];
  validation: CountedRow[];
  dropped: Map<DropReason, number>;
  /** Verifier results over every trace read (the kept rows' are counted here, from their meta). */
  verification: Pick<DatasetStats["verification"], "traces" | "passed">;
  baseModel: string;
  settings: DatasetStats["settings"];
}): DatasetStats {
  const all = [...input.train, ...input.validation];
  const byTool: Record<string, number> = {};
  let calls = 0;
  for (const { row } of all) {
    for (const m of row.messages) {
      if (m.role !== "assistant") continue;
      for (const c of m.tool_calls ?? []) {
        byTool[c.function.name] = (byTool[c.function.name] ?? 0) + 1;
        calls++;
      }
    }
  }
  const byReason = Object.fromEntries([...input.dropped].sort(([a], [b]) => a.localeCompare(b)));
  return {
    traces: input.traces,
    rows: all.length,
    tasks: new Set(all.map((r) => r.row.meta.task_id)).size,
    splits: { train: splitStats(input.train), validation: splitStats(input.validation) },
    turns: summarize(all.map((r) => r.turns)),
    tokens: summarize(all.map((r) => r.tokens)),
    tokenizer: { base_model: input.baseModel },
    tool_calls: { total: calls, by_tool: Object.fromEntries(Object.entries(byTool).sort(([a], [b]) => a.localeCompare(b))) },
    tool_errors: all.reduce((n, r) => n + r.toolErrors, 0),
    dropped: { total: [...input.dropped.values()].reduce((a, b) => a + b, 0), by_reason: byReason },
    verification: { ...input.verification, rows: all.filter((r) => r.row.meta.verified === true).length },
    settings: input.settings,
  };
}
