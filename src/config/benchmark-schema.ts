import * as z from "zod";
import { nonEmpty, positiveInt, positiveNumber, stringOrList } from "./fields.js";
import { sandboxSchema, SUBAGENT_NAME, teacherSchema } from "./schema.js";

/**
 * `benchmarks:` in subagents.yaml: a large main agent (the orchestrator) solving tasks with
 * verifiers while it may delegate to the offered subagents, once per arm (who plays them).
 * See docs/benchmarks.md.
 */

export const BENCH_ARMS = ["none", "teacher", "base", "student", "routed"] as const;

const orchestrator = teacherSchema
  .extend({
    tools: z
      .array(nonEmpty())
      .default(["Read", "Grep", "Glob", "Edit", "Write", "Bash"])
      .describe("The orchestrator's own tools, run in the task's container (the delegation tool is added in every arm but none)."),
    max_turns: positiveInt().default(40),
    instructions: nonEmpty().optional().describe("The orchestrator's system prompt (a built-in one when unset)."),
  })
  .describe("The main agent: any OpenAI-compatible endpoint, configured like a teacher.");

const servingCost = z
  .union([z.strictObject({ usd_per_hour: positiveNumber() }), z.strictObject({ usd_per_mtok: positiveNumber() })], {
    error: "{usd_per_hour: n} or {usd_per_mtok: n}",
  })
  .describe("What the local student and base models cost: GPU or CPU dollars per hour of model time, or dollars per million tokens. Unset: their cost is reported as unknown.");

export const benchmarkSchema = z.strictObject({
  tasks: z.strictObject({
    from: stringOrList("a path or a list of paths")
      .transform((from) => (typeof from === "string" ? [from] : from))
      .describe("Task sources with verifiers: our JSONL, SWE-bench, Harbor or Terminal-Bench (see docs/task-formats.md)."),
    format: z.enum(["auto", "jsonl", "swe-bench", "harbor", "terminal-bench"]).default("auto"),
  }),
  orchestrator: orchestrator.prefault({}),
  subagents: z.array(z.string().regex(SUBAGENT_NAME, { error: "a subagent's name" })).min(1).describe("The subagents offered to the orchestrator."),
  arms: z
    .array(z.enum(BENCH_ARMS))
    .min(1)
    .default(["none", "teacher", "base", "student"])
    .describe("Who plays the offered subagents: nobody (none), their teacher, the untrained base model, the distilled student, or the student and the teacher as the subagent's route: says (routed: as `sabuild serve` would)."),
  samples: positiveInt().default(1).describe("Runs of each task in each arm."),
  sandbox: sandboxSchema.prefault({}).describe("For tasks without an env, and the recipe repository environments build on."),
  serving: servingCost.optional(),
  concurrency: positiveInt()
    .default(4)
    .describe("Slots of each local model server (student, base). Items run as many at once as `-j` allows; the orchestrator's requests at once are orchestrator.concurrency."),
});

export const BENCH_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export const benchmarksSchema = z
  .record(z.string().regex(BENCH_NAME, { error: 'lowercase letters, digits, "-" and "_"' }), benchmarkSchema)
  .default({})
  .describe("Orchestrator benchmarks: does the main agent do as well, for less, with the subagents? Built as bench/<name>.");

export type ResolvedBenchmark = z.output<typeof benchmarkSchema> & { name: string };
export type ServingCostConfig = z.output<typeof servingCost>;

