import { stat } from "node:fs/promises";
import { sha256 } from "../engine/key.js";
import { normalizeTaskText } from "../stages/task-files.js";
import { trafficFiles } from "./log.js";
import { readTraffic, type ReadRecord, type TrafficRead } from "./read.js";
import type { TrafficRecord } from "./types.js";

/** The records of several subagents, each oldest first, then by time across them. */
export async function readAll(store: string, subagents: string[]): Promise<TrafficRead> {
  const out: TrafficRead = { records: [], skipped: [] };
  for (const s of subagents) {
    const r = await readTraffic(store, s);
    out.records.push(...r.records);
    out.skipped.push(...r.skipped);
  }
  out.records.sort((a, b) => a.record.at.localeCompare(b.record.at));
  return out;
}

/** What `traffic ls` shows of a record: everything but the conversation and trace. */
export type LsRow = Omit<TrafficRecord, "request" | "reply" | "trace"> & { origin: string };

export function lsRows(records: ReadRecord[], o: { limit: number; escalated: boolean }): LsRow[] {
  const picked = records.filter((r) => !o.escalated || r.record.answered_by === "teacher");
  return (o.limit ? picked.slice(-o.limit) : picked).map(({ record, origin }) => {
    const { request: _request, reply: _reply, trace: _trace, ...rest } = record;
    return { ...rest, origin };
  });
}

export interface TrafficStats {
  subagent: string;
  delegations: number;
  /** Distinct prompts (as tasks compare them: case and spacing aside). */
  prompts: number;
  by_answerer: { student: number; teacher: number; none: number };
  escalations: { rate: number; by_reason: Record<string, number> };
  /** Completion tokens of the model that answered: what the orchestrator reads back, at most. */
  answer_tokens: { mean: number; max: number; total: number };
  latency_ms: { p50: number; p95: number };
  files: number;
  bytes: number;
}

/** Nearest-rank percentile: a recorded latency, not an interpolation between two. */
function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export async function trafficStats(store: string, subagents: string[], records: ReadRecord[]): Promise<TrafficStats[]> {
  const out: TrafficStats[] = [];
  for (const subagent of subagents) {
    const mine = records.filter((r) => r.record.subagent === subagent).map((r) => r.record);
    const files = trafficFiles(store, subagent);
    const bytes = (await Promise.all(files.map((f) => stat(f).then((s) => s.size, () => 0)))).reduce((a, b) => a + b, 0);
    const teacher = mine.filter((r) => r.answered_by === "teacher");
    const byReason: Record<string, number> = {};
    for (const r of teacher) byReason[r.route_reason] = (byReason[r.route_reason] ?? 0) + 1;
    const completion = mine.map((r) => r.tokens.completion);
    const total = completion.reduce((a, b) => a + b, 0);
    const latency = mine.map((r) => r.latency_ms).sort((a, b) => a - b);
    out.push({
      subagent,
      delegations: mine.length,
      prompts: new Set(mine.map((r) => normalizeTaskText(r.prompt))).size,
      by_answerer: { student: mine.filter((r) => r.answered_by === "student").length, teacher: teacher.length, none: mine.filter((r) => r.answered_by === "none").length },
      escalations: { rate: mine.length ? teacher.length / mine.length : 0, by_reason: byReason },
      answer_tokens: { mean: mine.length ? total / mine.length : 0, max: completion.reduce((a, b) => Math.max(a, b), 0), total },
      latency_ms: { p50: percentile(latency, 0.5), p95: percentile(latency, 0.95) },
      files: files.length,
      bytes,
    });
  }
  return out;
}

/** The id a recorded prompt gets as a task: stable across logs and rotations. */
export function recordedTaskId(prompt: string): string {
  return `rec-${sha256(normalizeTaskText(prompt)).slice(0, 12)}`;
}

/** JSONL: whole records, or one task per distinct non-empty prompt (a tasks.from file). */
export function exportLines(records: ReadRecord[], as: "records" | "tasks"): string {
  if (as === "records") return records.map((r) => `${JSON.stringify(r.record)}\n`).join("");
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const { record } of records) {
    const norm = normalizeTaskText(record.prompt);
    if (!norm || seen.has(norm)) continue;
    seen.add(norm);
    lines.push(`${JSON.stringify({ id: recordedTaskId(record.prompt), prompt: record.prompt, tags: ["recorded"] })}\n`);
  }
  return lines.join("");
}
