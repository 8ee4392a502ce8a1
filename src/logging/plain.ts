import type { EngineEvent } from "../engine/events.js";
import { describeFailure, describeReason } from "../engine/events.js";
import { progressText } from "./progress.js";
import type { Renderer } from "./types.js";
import { formatDuration } from "../cli/output.js";

/** One line per thing that happened, for CI logs and pipes. Progress at most every 2 s a stage. */
export function plainRenderer(opts: { verbose: boolean; write?: (line: string) => void }): Renderer {
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const lastProgress = new Map<string, number>();
  return {
    start: () => undefined,
    event(e: EngineEvent) {
      switch (e.type) {
        case "stage-start":
          write(`▶ ${e.id}${e.reasons[0] ? ` (${describeReason(e.reasons[0])})` : ""}`);
          break;
        case "stage-progress": {
          const now = Date.now();
          if (e.done === e.total || now - (lastProgress.get(e.id) ?? 0) >= 2000) {
            lastProgress.set(e.id, now);
            write(`  ${e.id}: ${progressText(e, { itemsWord: false, soFar: false })}`);
          }
          break;
        }
        case "stage-log":
          if (opts.verbose || e.level === "warn" || e.line.includes("warning:") || e.line.includes("note:")) write(`  ${e.id} | ${e.level === "warn" && !e.line.includes("warning:") ? "warning: " : ""}${e.line}`);
          break;
        case "stage-end": {
          const items = e.items ? ` (${e.items.run} items run, ${e.items.reused} reused${e.items.fetched ? `, ${e.items.fetched} fetched` : ""})` : "";
          if (e.status === "built") write(`✓ ${e.id} built in ${formatDuration(e.durationMs)}${items}`);
          else if (e.status === "restored") write(`↺ ${e.id} restored from the store`);
          else if (e.status === "fetched") write(`↓ ${e.id} fetched from the remote cache in ${formatDuration(e.durationMs)}`);
          else if (e.status === "failed") write(`✗ ${e.id} failed: ${e.failure ? describeFailure(e.failure) : ""}`);
          else if (e.status === "cancelled") write(`■ ${e.id} cancelled`);
          else if (e.status === "skipped") write(`- ${e.id} skipped: ${e.failure ? describeFailure(e.failure) : ""}`);
          break;
        }
        case "message":
          write(`${e.level === "warn" ? "warning: " : ""}${e.text}`);
          break;
      }
    },
    stop: async () => undefined,
  };
}
