import { describeArtifactError, failArtifact, readItemIds, readRowTrace, type RowTrace } from "../artifacts/index.js";

export type { RowTrace as DatasetTrace, TraceMessage } from "../artifacts/index.js";

/**
 * A traces item as the dataset sees it: the part of its trace a row is made of, or why it cannot
 * be one. The traces stage and plugins that replace it write these files, and one bad file
 * counts as dropped (`unreadable_trace`), not as the end of the build.
 */
export type ReadTrace = { item: string; trace: RowTrace } | { item: string; problem: string };

/** Reads every item of the traces stage's output, in index order. */
export async function readTraces(tracesDir: string): Promise<ReadTrace[]> {
  const ids = await readItemIds(tracesDir);
  // index.json is the engine's record of the map stage: without it there is nothing to read.
  if (!ids.ok) failArtifact(ids.error, "traces");
  const out: ReadTrace[] = [];
  for (const item of ids.value) {
    const read = await readRowTrace(tracesDir, `items/${item}/trace.json`);
    out.push(read.ok ? { item, trace: read.value } : { item, problem: describeArtifactError(read.error) });
  }
  return out;
}
