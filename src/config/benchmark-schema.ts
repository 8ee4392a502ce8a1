import * as z from "zod";
import { nonEmpty, positiveInt, positiveNumber, stringOrList } from "./fields.js";
import { sandboxSchema, SUBAGENT_NAME, teacherSchema } from "./schema.js";

/**
 * `benchmarks:` in subagents.yaml: a large main agent (the orchestrator) solving tasks with
 * verifiers while it may delegate to the offered subagents, once per arm (who plays them).
 * See docs/benchmarks.md.
 */

/** Who drives the main agent's loop. */
export const ORCHESTRATOR_KINDS = ["builtin", "claude-code", "command"] as const;

/** The Claude Code release benchmarks run unless they pin another (its version is in every item's key). */
export const CLAUDE_CODE_VERSION = "2.1.332";

export const BENCH_ARMS = ["none", "teacher", "base", "student", "routed"] as const;

const orchestrator = teacherSchema
  .extend({
    tools: z
      .array(nonEmpty())
      .default(["Read", "Grep", "Glob", "Edit", "Write", "Bash"])
      .describe("The orchestrator's own tools, run in the task's container (the delegation tool is added in every arm but none)."),
    max_turns: positiveInt().default(40),
    instructions: nonEmpty().optional().describe("The orchestrator's system prompt (a built-in one when unset)."),
    kind: z
      .enum(ORCHESTRATOR_KINDS)
      .default("builtin")
      .describe("Who drives the main agent: sabuild's own loop (builtin), Claude Code run headless in the task's container (claude-code), or any CLI run there that prints its usage as JSON (command; see docs/benchmarks.md)."),
    claude_code_version: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, { error: "an exact version of @anthropic-ai/claude-code, e.g. 2.1.332" })
      .default(CLAUDE_CODE_VERSION)
      .describe("The @anthropic-ai/claude-code package kind claude-code runs (installed once into the user cache)."),
    command: nonEmpty()
      .optional()
      .describe("kind: command: a shell command run in the task's container; it reads the task from $SABUILD_PROMPT and prints its usage as JSON."),
  })
  .superRefine((o, ctx) => {
    const issue = (key: string, message: string): void => ctx.addIssue({ code: "custom", path: [key], message, params: { message } });
    if (o.kind === "command" && !o.command) issue("command", "kind: command needs a command to run");
    if (o.kind === "claude-code" && !o.standin && o.base_url.includes("api.openai.com")) {
      issue("base_url", "Claude Code speaks Anthropic's Messages API: set base_url (https://api.anthropic.com) and api_key (\"${ANTHROPIC_API_KEY}\")");
    }
  })
  .describe("The main agent: any OpenAI-compatible endpoint, configured like a teacher, or Claude Code (kind: claude-code).");

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

