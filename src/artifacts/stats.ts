import * as z from "zod";
import type { DatasetStats } from "../dataset/types.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";

const summary = z.looseObject({ min: z.number(), mean: z.number(), max: z.number(), total: z.number() });
const split = z.looseObject({ rows: z.number().int().min(0), tasks: z.number().int().min(0), tokens: summary });

/** `stats.json` (dataset): rows, splits, token and turn counts, and why traces were dropped. */
export const datasetStatsSchema = z.looseObject({
  traces: z.number().int().min(0),
  rows: z.number().int().min(0),
  tasks: z.number().int().min(0),
  splits: z.looseObject({ train: split, validation: split }),
  turns: summary,
  tokens: summary,
  tokenizer: z.looseObject({ base_model: z.string() }),
  tool_calls: z.looseObject({ total: z.number().int().min(0), by_tool: z.record(z.string(), z.number()) }),
  tool_errors: z.number().int().min(0),
  // By reason: a plugin's dataset stage may count reasons of its own.
  dropped: z.looseObject({ total: z.number().int().min(0), by_reason: z.record(z.string(), z.number().int().min(0)) }),
  // Written since the task verifiers: a stats.json of an older build reads as none verified.
  verification: z.looseObject({ traces: z.number().int().min(0), passed: z.number().int().min(0), rows: z.number().int().min(0) }).default({ traces: 0, passed: 0, rows: 0 }),
  settings: z.looseObject({
    max_tokens_per_row: z.number(),
    validation: z.number(),
    judge_threshold: z.number().nullable(),
    max_repeated_tool_calls: z.number(),
    keep_reasoning: z.boolean(),
    require_verified: z.boolean().default(false),
    include_escalations: z.boolean().optional(),
    weights: z.looseObject({ traces: z.number(), escalations: z.number() }).optional(),
    max_answer_tokens: z.number().optional(),
    long_answers: z.enum(["drop", "flag"]).optional(),
  }),
  answers: z.looseObject({ max_tokens: z.number(), action: z.enum(["drop", "flag"]), long: z.number().int().min(0) }).optional(),
  escalations: z.looseObject({ traces: z.number().int().min(0), rows: z.number().int().min(0) }).optional(),
  weighted_train_rows: z.number().int().min(0).optional(),
});
export type DatasetStatsMirrors = Assert<Mirrors<typeof datasetStatsSchema, DatasetStats>>;

export function readDatasetStats(datasetDir: string): Promise<ArtifactResult<DatasetStats>> {
  return readJsonArtifact(datasetDir, "stats.json", datasetStatsSchema);
}
