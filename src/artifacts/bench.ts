import * as z from "zod";
import type { ArmSummary, Comparison } from "../bench/stats.js";
import { ARMS, type OrchestratorTrace } from "../bench/types.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";
import { traceSchema } from "./trace.js";

const arm = z.enum(ARMS);
const interval = z.looseObject({ low: z.number(), high: z.number(), level: z.number() });

const armSummarySchema = z.looseObject({
  arm: z.string(),
  items: z.number().int().min(0),
  tasks: z.number().int().min(0),
  resolved: z.number().int().min(0),
  resolve_rate: z.number(),
  resolve_interval: interval.nullable(),
  metrics: z.record(z.string(), z.looseObject({ measured: z.number(), unmeasured: z.number(), mean: z.number().nullable(), median: z.number().nullable() })),
});
export type ArmSummaryMirrors = Assert<Mirrors<typeof armSummarySchema, ArmSummary>>;

const pairedDifference = z.looseObject({
  tasks: z.number().int().min(0),
  unmeasured: z.number().int().min(0),
  reference_mean: z.number().nullable(),
  arm_mean: z.number().nullable(),
  mean_diff: z.number().nullable(),
  mean_diff_interval: interval.nullable(),
  relative_pct: z.number().nullable(),
  relative_interval: interval.nullable(),
});

const comparisonSchema = z.looseObject({
  arm: z.string(),
  reference: z.string(),
  tasks: z.looseObject({ paired: z.number().int().min(0), only_arm: z.array(z.string()), only_reference: z.array(z.string()) }),
  resolved: z.looseObject({
    rate: pairedDifference,
    mcnemar: z.looseObject({ b: z.number(), c: z.number(), p_value: z.number(), tasks: z.number(), rule: z.literal("majority, tie to lowest sample") }),
  }),
  metrics: z.record(z.string(), pairedDifference),
});
export type ComparisonMirrors = Assert<Mirrors<typeof comparisonSchema, Comparison>>;

/** One item's row in bench.json: the figures the report shows beside its trace (the rest pass through). */
const itemRowSchema = z.looseObject({
  id: z.string(),
  task: z.string(),
  arm,
  sample: z.number().int().min(0),
  status: z.string(),
  resolved: z.boolean(),
  verified: z.boolean(),
  main_tokens: z.number(),
  delegations: z.number().int().min(0),
  cost_usd: z.number().nullable(),
  cost_note: z.string().optional(),
});

/** `bench.json` (bench/<name>:bench): each item's figures, each arm's summary, and the paired comparisons by reference (`vs_none`, `vs_teacher`). */
export const benchResultSchema = z.looseObject({
  benchmark: z.string(),
  arms: z.array(arm),
  samples: z.number().int().min(1),
  tasks: z.number().int().min(0),
  summary: z.array(armSummarySchema),
  comparisons: z.record(z.string(), z.array(comparisonSchema)),
  items: z.array(itemRowSchema),
});
export type BenchResultFile = z.output<typeof benchResultSchema>;
export type BenchItemRow = z.output<typeof itemRowSchema>;

/** An orchestrator's rollout (bench/<name>:runs or :routed, items/<id>/trace.json): a trace with its arm and each delegation's nested trace. */
export const orchestratorTraceSchema = traceSchema.extend({
  arm,
  delegations: z.array(z.looseObject({ subagent: z.string(), description: z.string(), prompt: z.string(), answer: z.string(), trace: traceSchema })),
  cli: z
    .looseObject({
      kind: z.enum(["claude-code", "command"]),
      version: z.string().optional(),
      tool_calls_by_tool: z.record(z.string(), z.number()),
      num_turns: z.number().optional(),
      total_cost_usd: z.number().optional(),
      model_usage: z.record(z.string(), z.unknown()).optional(),
      exit_code: z.number().nullable(),
    })
    .optional(),
});
export type OrchestratorTraceMirrors = Assert<Mirrors<typeof orchestratorTraceSchema, OrchestratorTrace>>;

export function readBenchResult(dir: string, file: string): Promise<ArtifactResult<BenchResultFile>> {
  return readJsonArtifact(dir, file, benchResultSchema);
}

export function readOrchestratorTrace(dir: string, file: string): Promise<ArtifactResult<OrchestratorTrace>> {
  return readJsonArtifact(dir, file, orchestratorTraceSchema);
}
