import type { EngineEvent } from "../engine/events.js";
import { describeFailure } from "../engine/events.js";
import { reasonsJson } from "../cli/output.js";
import type { Renderer } from "./types.js";

type StageEnd = Extract<EngineEvent, { type: "stage-end" }>;

/** One stage of `build --json`: what its stage-end event said, with reasons and failure in words too. */
export function stageJson(e: StageEnd): Record<string, unknown> {
  // Fields set one by one, in this order (the document's): a no-op writes 1,000 of these.
  const out: Record<string, unknown> = { id: e.id, status: e.status, reasons: e.reasons.length ? reasonsJson(e.reasons) : [], durationMs: e.durationMs };
  if (e.key) out.key = e.key;
  if (e.output) out.output = e.output;
  if (e.items) out.items = e.items;
  if (e.failure) {
    out.failure = e.failure;
    out.error = describeFailure(e.failure);
    if (e.failure.reason === "inputs") out.problems = e.failure.problems;
    if ("log" in e.failure && e.failure.log) out.log = e.failure.log;
  }
  return out;
}

export interface JsonRenderer extends Renderer {
  /** The stages as the events described them, in the order the renderer was started with. */
  stages(): Record<string, unknown>[];
}

/**
 * `--json`: the same events as the other views, kept as data for the one document printed at
 * the end; stdout is that document, so warnings go to stderr as they come.
 */
export function jsonRenderer(warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): JsonRenderer {
  const ends = new Map<string, StageEnd>();
  let order: string[] = [];
  return {
    start(ids) {
      order = ids;
    },
    event(e) {
      if (e.type === "stage-end") ends.set(e.id, e);
      else if (e.type === "message" && e.level === "warn") warn(`warning: ${e.text}`);
      else if (e.type === "stage-log" && (e.level === "warn" || e.line.includes("warning:"))) warn(`  ${e.id} | ${e.line.includes("warning:") ? "" : "warning: "}${e.line}`);
    },
    stages() {
      const out: Record<string, unknown>[] = [];
      for (const id of order) {
        const e = ends.get(id);
        if (e) out.push(stageJson(e));
      }
      // Stages that ended without being announced at start, after the others (rare: only then the set).
      if (out.length < ends.size) {
        const started = new Set(order);
        for (const [id, e] of ends) if (!started.has(id)) out.push(stageJson(e));
      }
      return out;
    },
    stop: async () => undefined,
  };
}
