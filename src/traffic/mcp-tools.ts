import type { McpSubagent } from "../serve/mcp.js";
import type { Recorder } from "./record.js";

/** The MCP server's tools, each recording its answered calls (serve.record). */
export function recordingTools(tools: McpSubagent[], recorder: Recorder): McpSubagent[] {
  return tools.map((t) => ({
    ...t,
    async run(prompt, signal) {
      const started = Date.now();
      let r: Awaited<ReturnType<McpSubagent["run"]>>;
      try {
        r = await t.run(prompt, signal);
      } catch (e) {
        // No model answered: the prompt is still worth a task.
        recorder.mcp({ subagent: t.name, prompt, answer: "", answeredBy: "none", reason: "failed", detail: (e as Error).message, ms: Date.now() - started });
        throw e;
      }
      recorder.mcp({
        subagent: t.name,
        prompt,
        answer: r.answer,
        answeredBy: r.answeredBy,
        reason: r.reason ?? (r.answeredBy === "student" ? "student" : "fallback"),
        ...(r.detail ? { detail: r.detail } : {}),
        ...(r.trace ? { trace: r.trace } : {}),
        ms: Date.now() - started,
      });
      return r;
    },
  }));
}
