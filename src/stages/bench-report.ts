import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { OrchestratorTrace } from "../bench/types.js";
import type { RunHooks } from "../engine/types.js";
import { renderBenchHtml } from "../report/bench-html.js";
import { renderBenchMarkdown } from "../report/bench-markdown.js";
import { BENCH_FILE, benchItemDirs } from "./bench-summary.js";
import type { ProjectContext } from "./types.js";

/**
 * Writes a benchmark's report page (report.html) and its markdown summary (summary.md) from
 * bench.json and the runs node's traces. bench.json must be what the bench node writes; a trace
 * that is not one is left off the page with a note (its figures are still in bench.json).
 */
export async function writeBenchReport(ctx: ProjectContext & RunHooks, name: string): Promise<void> {
  const artifacts = await import("../artifacts/index.js");
  const result = artifacts.expectArtifact(await artifacts.readBenchResult(ctx.upstream.bench!.dir, BENCH_FILE), `bench/${name}:bench`);
  const traces: Record<string, OrchestratorTrace> = {};
  const notes: string[] = [];
  const found = new Map((await benchItemDirs(ctx.upstream)).map((i) => [i.id, i]));
  for (const item of result.items) {
    const at = found.get(item.id);
    if (!at) {
      notes.push(`No trace for ${item.id} in the runs nodes' output.`);
      continue;
    }
    const t = await artifacts.readOrchestratorTrace(at.root, at.trace);
    if (t.ok) traces[item.id] = t.value;
    else notes.push(`Left off the page: ${artifacts.describeArtifactError(t.error)}.`);
  }
  for (const n of notes) ctx.log(`warning: ${n}`);
  const input = { generatedAt: new Date().toISOString().slice(0, 10), result, traces, notes };
  await writeFile(join(ctx.outDir, "report.html"), renderBenchHtml(input));
  await writeFile(join(ctx.outDir, "summary.md"), renderBenchMarkdown(input));
  ctx.log(`report: ${result.arms.length} arms, ${result.tasks} tasks, ${Object.keys(traces).length} traces`);
}
