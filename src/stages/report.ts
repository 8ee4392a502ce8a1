import { ok } from "../result.js";
import type { Stage } from "./types.js";

/** The report page (HTML with inline SVG) and a markdown summary for CI comments. */
export function reportStage(): Stage {
  return {
    kind: "report",
    // 2: verified success (the tasks' tests) per model, per task and in the stage details.
    // 3: the learned router's cost-quality curve (the router stage).
    version: "3",
    deps: ["import", "tasks", "traces", "dataset", "train", "export", "eval", "router"],
    async inputs({ subagent }) {
      return ok({
        params: {
          // The notes the page shows: a stand-in teacher, and targets that do not gate (with why).
          standin: subagent.teacher.standin ?? null,
          gate: subagent.eval.gate,
          gate_reason: subagent.eval.gate_reason ?? null,
        },
        files: [],
      });
    },
    async run(ctx) {
      // The page's renderers load only when the report is written.
      await (await import("./report-run.js")).runReport(ctx);
    },
  };
}
