import * as z from "zod";
import { readJsonArtifact, type ArtifactResult } from "./read.js";

/** `summary.json` (tasks): how many tasks there are, and where they came from. */
export const taskSummarySchema = z.looseObject({
  total: z.number().int().min(0),
  train: z.number().int().min(0),
  heldout: z.number().int().min(0),
  duplicates_dropped: z.number().int().min(0).optional(),
  user: z.number().int().min(0).optional(),
  generated: z.number().int().min(0).optional(),
  generation: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type TaskSummary = z.output<typeof taskSummarySchema>;

export function readTaskSummary(tasksDir: string): Promise<ArtifactResult<TaskSummary>> {
  return readJsonArtifact(tasksDir, "summary.json", taskSummarySchema);
}
