import * as z from "zod";
import type { EvalResult } from "../eval/types.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";

const role = z.enum(["student", "base", "teacher"]);
const status = z.enum(["completed", "turn_cap", "contract_violation", "error"]);

const modelSummarySchema = z.looseObject({
  role,
  model: z.looseObject({ name: z.string(), base_url: z.string(), role: z.enum(["teacher", "student", "base"]) }),
  tasks: z.number().int().min(0),
  success_rate: z.number(),
  judge: z.looseObject({ score: z.number(), dimensions: z.record(z.string(), z.number()) }).optional(),
  verified: z.looseObject({ tasks: z.number().int().min(0), passed: z.number().int().min(0), success_rate: z.number() }).optional(),
  failure_modes: z.record(z.string(), z.number()),
  statuses: z.record(z.string(), z.number()),
  turns_mean: z.number(),
  tool_calls_mean: z.number(),
  tokens: z.looseObject({ prompt: z.number(), completion: z.number(), per_task: z.number() }),
  latency_ms: z.looseObject({ mean: z.number(), p50: z.number(), p95: z.number() }),
  cost_per_task_usd: z.number(),
  answer_tokens: z.looseObject({ mean: z.number(), p95: z.number(), max: z.number() }).optional(),
});

const taskResultSchema = z.looseObject({
  status,
  success: z.boolean(),
  score: z.number().optional(),
  verified: z.boolean().optional(),
  /** The rollout's trace.json, relative to the eval output. */
  trace: z.string().min(1),
  judge: z.string().optional(),
  answer_tokens: z.number().optional(),
});

/** `eval.json` (eval): per-model summaries, the student's ratios, targets, gate and per-task results. */
export const evalResultSchema = z.looseObject({
  version: z.literal(1),
  subagent: z.string(),
  models: z.partialRecord(role, modelSummarySchema),
  ratios: z.record(z.string(), z.number().nullable()),
  targets: z.array(z.looseObject({ name: z.string(), expected: z.string(), actual: z.number().nullable(), ok: z.boolean() })),
  gate: z.looseObject({ enabled: z.boolean(), reason: z.string().optional(), passed: z.boolean() }),
  tasks: z.array(z.looseObject({ id: z.string(), prompt: z.string(), results: z.partialRecord(role, taskResultSchema) })),
  /** What the page should say about the run (no held-out tasks, a base model not evaluated). */
  notes: z.array(z.string()).default([]),
});
export type EvalResultMirrors = Assert<Mirrors<typeof evalResultSchema, EvalResult>>;
export type ReadEvalResult = z.output<typeof evalResultSchema>;

export function readEvalResult(evalDir: string): Promise<ArtifactResult<ReadEvalResult>> {
  return readJsonArtifact(evalDir, "eval.json", evalResultSchema);
}
