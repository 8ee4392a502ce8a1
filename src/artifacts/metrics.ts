import * as z from "zod";
import { readJsonArtifact, type ArtifactResult } from "./read.js";

const count = z.number().nullable().optional();

/**
 * `metrics.json` (train), written by trainer/sft.py. Everything is optional: a plugin's train
 * stage may write `{}`, and the trainer writes null for a value it could not measure.
 */
export const trainMetricsSchema = z.looseObject({
  model: z.string().optional(),
  steps: z.number().int().min(0).optional(),
  device: z.string().optional(),
  loss_curve: z.array(z.looseObject({ step: z.number(), loss: z.number().nullable(), eval_loss: z.number().nullable().optional() })).default([]),
  first_loss: count,
  final_loss: count,
  throughput: z.looseObject({ train_runtime_s: count, tokens_per_s: count, wall_s: count }).optional(),
});
export type TrainMetrics = z.output<typeof trainMetricsSchema>;

/** metrics.json of the train stage's output, or adapter/metrics.json where an older trainer put it. */
export async function readTrainMetrics(trainDir: string): Promise<ArtifactResult<TrainMetrics>> {
  const top = await readJsonArtifact(trainDir, "metrics.json", trainMetricsSchema);
  if (top.ok || top.error.reason !== "missing") return top;
  return readJsonArtifact(trainDir, "adapter/metrics.json", trainMetricsSchema);
}
