import type * as z from "zod";
import { describeArtifactError, failArtifact, readItemIds, rowTraceSchema } from "../artifacts/index.js";
import { readJsonArtifact } from "../artifacts/read.js";
import { verificationSchema } from "../envs/types.js";

export type { TraceMessage } from "../artifacts/index.js";

/** The part of a trace a row is made of, and the task verifier's result that may keep it out. */
export const datasetTraceSchema = rowTraceSchema.extend({ verification: verificationSchema.optional() });
export type DatasetTrace = z.output<typeof datasetTraceSchema>;

/**
 * A traces item as the dataset sees it: the part of its trace a row is made of, or why it cannot
 * be one. The traces stage and plugins that replace it write these files, and one bad file
 * counts as dropped (`unreadable_trace`), not as the end of the build.
 */
export type ReadTrace = { item: string; trace: DatasetTrace } | { item: string; problem: string };

/** Reads every item of the traces stage's output, in index order. */
export async function readTraces(tracesDir: string): Promise<ReadTrace[]> {
  const ids = await readItemIds(tracesDir);
  // index.json is the engine's record of the map stage: without it there is nothing to read.
  if (!ids.ok) failArtifact(ids.error, "traces");
  const out: ReadTrace[] = [];
  for (const item of ids.value) {
    const read = await readJsonArtifact(tracesDir, `items/${item}/trace.json`, datasetTraceSchema);
    out.push(read.ok ? { item, trace: read.value } : { item, problem: describeArtifactError(read.error) });
  }
  return out;
}
