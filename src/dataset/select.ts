import type { DatasetTrace, ReadTrace } from "./read-traces.js";
import { traceToRow, type RowOptions } from "./rows.js";
import type { DatasetStats, DropReason, TrainingRow } from "./types.js";

export interface Selection {
  /** Rows in task order (task id, sample, item), whatever order the traces stage listed them in. */
  candidates: { row: TrainingRow; trace: DatasetTrace }[];
  /** Drops so far, one reason per trace; the token limit adds `too_long` once rows are counted. */
  dropped: Map<DropReason, number>;
  /** Of every trace read: how many carry a verifier result and how many of those passed. */
  verification: Pick<DatasetStats["verification"], "traces" | "passed">;
}

/** Every trace read, to a row or a counted drop reason (all but the token limit). */
export function selectRows(traces: ReadTrace[], options: RowOptions): Selection {
  const dropped = new Map<DropReason, number>();
  const drop = (reason: DropReason): void => void dropped.set(reason, (dropped.get(reason) ?? 0) + 1);
  const candidates: Selection["candidates"] = [];
  const verification = { traces: 0, passed: 0 };
  for (const read of traces) {
    if ("problem" in read) {
      drop("unreadable_trace");
      continue;
    }
    if (read.trace.verification) {
      verification.traces++;
      if (read.trace.verification.passed) verification.passed++;
    }
    const row = traceToRow(read.item, read.trace, options);
    if (row.ok) candidates.push({ row: row.value, trace: read.trace });
    else drop(row.error);
  }
  candidates.sort((a, b) => a.row.meta.task_id.localeCompare(b.row.meta.task_id) || a.row.meta.sample - b.row.meta.sample || a.row.meta.trace_item.localeCompare(b.row.meta.trace_item));
  return { candidates, dropped, verification };
}
