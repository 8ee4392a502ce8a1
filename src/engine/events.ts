import type { ItemCounts, LogLevel, SpendEstimate, StageFailure } from "./types.js";

export type { SpendEstimate } from "./types.js";

/** Why a stage is not up to date: data first; renderers turn it into words. */
export type Reason =
  | { type: "new" }
  | { type: "param"; path: string; old?: unknown; new?: unknown }
  | { type: "params" }
  | { type: "file"; path: string; change: "added" | "removed" | "modified" }
  | { type: "upstream"; stage: string; old?: string; new?: string }
  | { type: "upstream-will-run"; stage: string }
  | { type: "version"; old: string; new: string }
  | { type: "toolchain"; name: string; old?: string; new?: string }
  | { type: "missing-output" }
  | { type: "unavailable"; message: string }
  | { type: "needs"; stage: string }
  | { type: "error"; message: string };

export type PlanStatus = "up-to-date" | "cached" | "will-fetch" | "will-run" | "unavailable" | "error";

export interface PlannedStage {
  id: string;
  scope: string;
  kind: string;
  status: PlanStatus;
  reasons: Reason[];
  key?: string;
  /** For map stages: how many items are already in the store, of how many. */
  items?: { cached: number; total: number };
  /** For will-fetch: what the remote cache will send. */
  fetch?: { files: number; bytes: number };
  /** For stages that will run and call a paid model: what they are expected to spend. */
  estimate?: SpendEstimate;
}

export type BuildStatus = "built" | "restored" | "fetched" | "up-to-date" | "failed" | "cancelled" | "skipped";

/** The engine's event stream; the listr2 view, the plain log and --json all render these. */
export type EngineEvent =
  | { type: "stage-start"; id: string; reasons: Reason[] }
  | { type: "stage-progress"; id: string; done: number; total: number; costUsd?: number; unit?: "items" | "blobs" | "uploads"; bytes?: { done: number; total: number } }
  | { type: "stage-log"; id: string; line: string; level: LogLevel }
  | {
      type: "stage-end";
      id: string;
      status: BuildStatus | "unavailable";
      durationMs: number;
      reasons: Reason[];
      key?: string;
      output?: string;
      /** Set when status is failed, cancelled or skipped. */
      failure?: StageFailure;
      items?: ItemCounts;
    }
  | { type: "message"; level: "info" | "warn"; text: string };

export type EventSink = (event: EngineEvent) => void;

export function describeReason(r: Reason): string {
  switch (r.type) {
    case "new":
      return "not in sabuild.lock (never built here)";
    case "param":
      return `param ${r.path} changed: ${show(r.old)} -> ${show(r.new)}`;
    case "params":
      return "params changed";
    case "file":
      return `file ${r.path} ${r.change}`;
    case "upstream":
      return `upstream ${r.stage} output changed${r.old && r.new ? ` (${r.old.slice(0, 10)} -> ${r.new.slice(0, 10)})` : ""}`;
    case "upstream-will-run":
      return `upstream ${r.stage} will run`;
    case "version":
      return `code version changed: ${r.old} -> ${r.new}`;
    case "toolchain":
      return `toolchain ${r.name} changed: ${r.old ?? "(none)"} -> ${r.new ?? "(none)"}`;
    case "missing-output":
      return "output missing from the store";
    case "unavailable":
      return r.message;
    case "needs":
      return `needs ${r.stage}, which is not available yet`;
    case "error":
      return r.message;
  }
}

/** A failure in words, for the plain log, the listr2 tree and the `error` field of --json. */
export function describeFailure(f: StageFailure): string {
  switch (f.reason) {
    case "inputs":
      return f.problems.map((p) => `${p.file}: ${p.message}`).join("; ");
    case "threw":
      return f.message;
    case "items": {
      const stopped = f.stopped ? `; ${f.stopped} more not run: stopped` : "";
      return `${f.failed.length} of ${f.total} items failed (the ${f.kept} that finished are kept${stopped}):\n  ${f.failed.map((i) => `${i.id}: ${i.message}`).join("\n  ")}`;
    }
    case "stopped":
      return `${f.why}: ${f.kept} of ${f.total} items done and kept, ${f.stopped} not run.${f.hint ? ` ${f.hint}` : ""}`;
    case "upstream":
      return `${f.stage} did not complete`;
    case "cancelled":
      return "cancelled";
  }
}

function show(v: unknown): string {
  return v === undefined ? "(unset)" : JSON.stringify(v);
}
