import type { EngineEvent } from "../engine/events.js";
import { formatBytes } from "../cli/output.js";

type Progress = Extract<EngineEvent, { type: "stage-progress" }>;

/**
 * A stage's progress in words: items (with the money spent so far), or blobs moved to or from
 * the remote cache, with their bytes when the sizes are known ("1.2 GiB of 2.0 GiB, 1/3 blobs fetched").
 */
export function progressText(e: Progress, opts: { itemsWord: boolean; soFar: boolean }): string {
  const verb = e.unit === "blobs" ? "fetched" : e.unit === "uploads" ? "uploaded" : undefined;
  const bytes = verb && e.bytes && e.bytes.total > 0 ? `${formatBytes(e.bytes.done)} of ${formatBytes(e.bytes.total)}, ` : "";
  const counts = verb ? `${e.done}/${e.total} blobs ${verb}` : `${e.done}/${e.total}${opts.itemsWord ? " items" : ""}`;
  return `${bytes}${counts}${e.costUsd !== undefined ? `, $${e.costUsd.toFixed(4)}${opts.soFar ? " so far" : ""}` : ""}`;
}
