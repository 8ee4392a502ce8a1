import * as z from "zod";
import {
  apiKey,
  baseUrl,
  between,
  headerValue,
  nonEmpty,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
  relativePath,
  stringOrList,
  target,
} from "./fields.js";

/**
 * The resolved shape of one subagent: every section with its built-in defaults. The schema of
 * the file as written (every key optional, `null` allowed) is derived from this one in
 * file-schema.ts, so a default is stated once.
 */

export const SUBAGENT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const budget = z
  .strictObject({ tokens: positiveInt().optional(), usd: positiveNumber().optional() })
  .describe("Stop spending once either limit is reached.");

const teacher = z
  .strictObject({
    base_url: baseUrl().default("https://api.openai.com/v1"),
    api_key: apiKey().default("${OPENAI_API_KEY}"),
    model: nonEmpty().default("gpt-4.1"),
    temperature: between(0, 2).default(0.7),
    max_tokens: positiveInt().default(4096),
    concurrency: positiveInt().default(4),
    rpm: positiveInt().optional().describe("Requests per minute allowed by the endpoint."),
    tpm: positiveInt().optional().describe("Tokens per minute allowed by the endpoint."),
    headers: z.record(z.string(), headerValue()).optional(),
    pricing: z
      .strictObject({ input_per_mtok: nonNegativeNumber(), output_per_mtok: nonNegativeNumber() })
      .optional()
      .describe("USD per million tokens, for cost reports and usd budgets."),
  })
  .describe("The OpenAI-compatible model that writes tasks and traces.");

const sandbox = z
  .strictObject({
    recipe: nonEmpty().default("shell"),
    base_image: nonEmpty().default("debian:bookworm-slim"),
    network: z.enum(["none", "bridge"]).default("none"),
    memory: z
      .string()
      .regex(/^\d+(\.\d+)?[bkmgt]?$/i, { error: 'a size such as "2g" or "512m"' })
      .default("2g"),
    cpus: positiveNumber().default(2),
    pids: positiveInt().default(256),
    command_timeout_s: positiveNumber().default(60),
    output_limit_bytes: positiveInt().default(30000),
    workspace: relativePath().optional().describe("Directory copied into the sandbox."),
  })
  .describe("The container that runs tool calls while tracing.");

const seedTask = z
  .union(
    [
      nonEmpty(),
      z.strictObject({
        prompt: nonEmpty(),
        id: nonEmpty().optional(),
        tags: z.array(nonEmpty()).optional(),
      }),
    ],
    { error: "a prompt, or a mapping with prompt, id and tags" },
  )
  .transform((task) => (typeof task === "string" ? { prompt: task } : task));

const tasks = z.strictObject({
  from: stringOrList("a path or a list of paths")
    .transform((from) => (typeof from === "string" ? [from] : from))
    .default([])
    .describe("JSONL task files, relative to the project directory."),
  seed: z.array(seedTask).default([]),
  count: positiveInt().default(100),
  holdout: between(0, 0.9).default(0.1).describe("Fraction of tasks kept out of training for eval."),
  generate: z
    .strictObject({
      depth: positiveInt().default(2),
      degree: positiveInt().default(4),
      per_leaf: positiveInt().default(5),
      dedup_threshold: between(0, 1).default(0.8),
    })
    .prefault({}),
  budget: budget.optional(),
});

const traces = z.strictObject({
  samples_per_task: positiveInt().default(1),
  max_turns: positiveInt().default(10),
  output_contract: z
    .strictObject({
      tag: z
        .string()
        .regex(/^[A-Za-z_][\w.-]*$/, { error: "an XML tag name" })
        .default("final_answer"),
    })
    .prefault({}),
  temperature: between(0, 2).optional(),
  budget: budget.optional(),
});

const dataset = z.strictObject({
  max_tokens_per_row: positiveInt().default(8192),
  validation: between(0, 0.9).default(0.05),
  judge_threshold: between(0, 1).optional(),
  max_repeated_tool_calls: positiveInt().default(3),
  keep_reasoning: z.boolean().default(false).describe("Keep the teacher's reasoning in assistant turns (as reasoning_content)."),
});

const train = z.strictObject({
  base_model: nonEmpty().optional().describe("Overrides base_model for training only."),
  runner: z.enum(["local", "docker"]).default("local"),
  image: nonEmpty().optional(),
  lora: z
    .strictObject({
      r: positiveInt().default(16),
      alpha: positiveNumber().default(32),
      dropout: between(0, 1).default(0.05),
      target_modules: stringOrList("a module name or a list of them").default("all-linear"),
    })
    .prefault({}),
  epochs: positiveNumber().default(2),
  learning_rate: positiveNumber().default(2e-4),
  batch_size: positiveInt().default(4),
  grad_accum: positiveInt().default(4),
  max_length: positiveInt().default(8192),
  packing: z.boolean().default(false),
  seed: nonNegativeInt().default(42),
  gradient_checkpointing: z.boolean().default(true),
});

const exportSection = z.strictObject({
  gguf_outtype: z.enum(["f16", "bf16", "q8_0"]).default("f16"),
  quantizations: z.array(nonEmpty()).default(["Q4_K_M"]),
  lora_gguf: z.boolean().default(true),
  ollama: z.boolean().default(true),
  tools: z
    .strictObject({
      convert: nonEmpty().optional(),
      quantize: nonEmpty().optional(),
      image: nonEmpty().optional(),
    })
    .prefault({}),
});

const evalSection = z.strictObject({
  models: z
    .array(z.enum(["student", "base", "teacher"]))
    .min(1, { error: "a non-empty list" })
    .default(["student", "base", "teacher"]),
  gate: z.boolean().default(true).describe("Fail the build when a target is missed."),
  gate_reason: nonEmpty().optional(),
  targets: z.record(z.string(), target()).default({}),
  judge: z
    .strictObject({
      base_url: baseUrl().optional(),
      api_key: apiKey().optional(),
      model: nonEmpty().optional(),
      threshold: between(0, 1).optional(),
      rubric: z.record(z.string(), nonEmpty()).optional(),
    })
    .optional()
    .describe("An LLM judge; endpoint, key and model default to the teacher's."),
});

/** Every subagent setting; `defaults` holds the same keys. */
export const settingsSchema = z.strictObject({
  unsupported_tools: z.enum(["error", "ignore"]).default("error"),
  teacher: teacher.prefault({}),
  base_model: nonEmpty().default("Qwen/Qwen3-4B-Instruct-2507"),
  sandbox: sandbox.prefault({}),
  tasks: tasks.prefault({}),
  traces: traces.prefault({}),
  dataset: dataset.prefault({}),
  train: train.prefault({}),
  export: exportSection.prefault({}),
  eval: evalSection.prefault({}),
});

export const sourceSchema = z.union(
  [
    z.strictObject({ agent: relativePath().describe("A Claude Code agent .md file.") }),
    z.strictObject({ skill: relativePath().describe("A skill directory or its SKILL.md.") }),
    z.strictObject({
      plugin: relativePath().describe("A Claude Code plugin directory."),
      name: nonEmpty().optional().describe("Which agent or skill of the plugin."),
    }),
    z.strictObject({
      inline: z.strictObject({
        name: nonEmpty().optional(),
        description: nonEmpty(),
        prompt: nonEmpty(),
        tools: stringOrList("a tool list").optional(),
        model: nonEmpty().optional(),
        max_turns: positiveInt().optional(),
      }),
    }),
  ],
  { error: "exactly one of agent, skill, plugin or inline" },
);

/** A subagent after merging; derived values are filled so stages read one place. */
export const resolvedSubagentSchema = z
  .strictObject({
    name: z.string(),
    extends: z.string().optional(),
    source: sourceSchema,
    ...settingsSchema.shape,
  })
  .transform((s) => ({
    ...s,
    train: { ...s.train, base_model: s.train.base_model ?? s.base_model },
    eval: {
      ...s.eval,
      judge: s.eval.judge && {
        ...s.eval.judge,
        base_url: s.eval.judge.base_url ?? s.teacher.base_url,
        api_key: s.eval.judge.api_key ?? s.teacher.api_key,
        model: s.eval.judge.model ?? s.teacher.model,
      },
    },
  }));

export type SubagentSource = z.output<typeof sourceSchema>;
export type ResolvedSubagent = z.output<typeof resolvedSubagentSchema>;
export type SubagentSettings = z.input<typeof settingsSchema>;
