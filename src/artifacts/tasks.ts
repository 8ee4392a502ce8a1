import * as z from "zod";
import { solutionSchema, taskEnvSchema, verifierSchema } from "../envs/types.js";
import { readJsonlArtifact, type ArtifactResult } from "./read.js";

/**
 * A line of `tasks.jsonl` and `heldout.jsonl` (tasks). The built-in stage writes every field
 * (src/stages/task-files.ts `Task`); a plugin's tasks need only an id and a prompt.
 */
export const taskLineSchema = z.looseObject({
  id: z.string().min(1),
  prompt: z.string(),
  tags: z.array(z.string()).default([]),
  /** `path:line` of a task file, or `seed[i]`: where the dataset card says a row came from. */
  origin: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  /** Its own environment (src/envs/types.ts); absent: the subagent's sandbox. */
  env: taskEnvSchema.optional(),
  /** The test that decides success, run after the agent finishes. */
  verify: verifierSchema.optional(),
  solution: solutionSchema.optional(),
});
export type TaskLine = z.output<typeof taskLineSchema>;

/** The tasks rolled out for training. */
export function readTrainTasks(tasksDir: string): Promise<ArtifactResult<TaskLine[]>> {
  return readJsonlArtifact(tasksDir, "tasks.jsonl", taskLineSchema);
}

/** The tasks kept back for eval. */
export function readHeldOutTasks(tasksDir: string): Promise<ArtifactResult<TaskLine[]>> {
  return readJsonlArtifact(tasksDir, "heldout.jsonl", taskLineSchema);
}
