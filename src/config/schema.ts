import * as z from "zod";
import { STAGE_KINDS, type StageKind } from "../stages/kinds.js";
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
  type IssueParams,
} from "./fields.js";
import { FAILURE_FLAGS } from "../judge/flags.js";

/**
 * The resolved shape of one subagent: every section with its built-in defaults. The schema of
 * the file as written (every key optional, `null` allowed) is derived from this one in
 * file-schema.ts, so a default is stated once.
 */

export const SUBAGENT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const budget = z
  .strictObject({ tokens: positiveInt().optional(), usd: positiveNumber().optional() })
  .describe("Stop spending once either limit is reached.");

export const teacherSchema = z
  .strictObject({
    base_url: baseUrl().default("https://api.openai.com/v1"),
    api_key: apiKey().default("${OPENAI_API_KEY}"),
    model: nonEmpty().default("gpt-4.1"),
    temperature: between(0, 2).default(0.7),
    max_tokens: positiveInt().default(4096),
    concurrency: positiveInt().default(4),
    rpm: positiveInt().optional().describe("Requests per minute allowed by the endpoint."),
    tpm: positiveInt().optional().describe("Tokens per minute allowed by the endpoint."),
    max_retries: nonNegativeInt().default(6).describe("Retries of a request after 408/409/429/5xx or a connection error."),
    timeout_s: positiveNumber().default(600).describe("Seconds one request attempt may take."),
    stream: z.boolean().default(false).describe("Request server-sent events and assemble the chunks."),
    headers: z.record(z.string(), headerValue()).optional(),
    standin: relativePath()
      .optional()
      .describe("A scripted stand-in teacher for offline examples and tests: a policy module. The build serves it on loopback as an OpenAI-compatible endpoint instead of base_url. Not a model."),
    pricing: z
      .strictObject({ input_per_mtok: nonNegativeNumber(), output_per_mtok: nonNegativeNumber() })
      .optional()
      .describe("USD per million tokens, for cost reports and usd budgets."),
  })
  .describe("The OpenAI-compatible model that writes tasks and traces.");

export const sandboxSchema = z
  .strictObject({
    recipe: nonEmpty()
      .default("shell")
      .describe("A folder of the project's recipes/ or a recipe shipped with sabuild (shell, python-repo, node-repo)."),
    base_image: nonEmpty().default("debian:bookworm-slim").describe("The image the recipe's Dockerfile builds FROM."),
    network: z
      .enum(["none", "bridge"])
      .optional()
      .describe("Overrides the recipe's network policy: none (the default) or bridge."),
    memory: z
      .string()
      .regex(/^\d+(\.\d+)?[bkmgt]?$/i, { error: 'a size such as "2g" or "512m"' })
      .optional()
      .describe("Overrides the recipe's memory limit."),
    cpus: positiveNumber().optional().describe("Overrides the recipe's CPU limit."),
    pids: positiveInt().optional().describe("Overrides the recipe's process limit."),
    command_timeout_s: positiveNumber().optional().describe("Overrides the recipe's per-command time limit."),
    output_limit_bytes: positiveInt().optional().describe("Overrides the recipe's limit on a command's output."),
    repos: z
      .union(
        [
          relativePath().describe("A file of `<git URL or path> <commit>` lines (# comments)."),
          z.array(
            z.union([
              nonEmpty().regex(/^\S+\s+\S+$/, { error: 'a "<git URL or path> <commit>" line' }),
              z.strictObject({ url: nonEmpty(), commit: nonEmpty(), setup: z.array(nonEmpty()).optional() }),
            ]),
          ),
        ],
        { error: "a file of `url commit` lines, or a list of `url commit` strings or {url, commit} mappings" },
      )
      .optional()
      .describe("Repositories the subagent works across: the teacher writes tasks per repository, each run on the recipe with the repository as its workspace."),
    setup: z.array(nonEmpty()).default([]).describe("Commands run at image build in every repository environment of sandbox.repos."),
    build_jobs: positiveInt().default(2).describe("Environment images built at once."),
    disk_budget: z
      .string()
      .regex(/^\d+(\.\d+)?[bkmgt]?$/i, { error: 'a size such as "50g"' })
      .optional()
      .describe("Disk the sandbox images sabuild built may take: a build past it stops with a hint to run `sabuild gc --images`."),
  })
  .describe("The container that runs tool calls while tracing; limits default to the recipe's.");

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
  count: positiveInt().default(100).describe("Tasks wanted in total: the teacher writes those the user did not."),
  holdout: between(0, 0.9).default(0.1).describe("Fraction of tasks kept out of training for eval."),
  format: z
    .enum(["auto", "jsonl", "swe-bench", "harbor", "terminal-bench"])
    .default("auto")
    .describe("The format of tasks.from: recognised from the content (SWE-bench fields, task.toml, task.yaml) unless named."),
  per_repo: positiveInt().optional().describe("Teacher-written tasks per repository of sandbox.repos (else tasks.count spread over them)."),
  from_recorded: z
    .boolean()
    .default(false)
    .describe("Add the prompts `sabuild serve` recorded for this subagent (serve.record) as tasks, near-duplicates of existing tasks dropped (tasks.generate.dedup_threshold); they come on top of tasks.count."),
  generate: z
    .strictObject({
      depth: positiveInt().default(2),
      degree: positiveInt().default(4),
      per_leaf: positiveInt().default(5),
      dedup_threshold: between(0, 1)
        .default(0.8)
        .describe("Estimated Jaccard similarity (MinHash over word bigrams) at which a task counts as a near-duplicate."),
      scope_check: z.boolean().default(false).describe("Also ask the teacher whether each generated task is in the subagent's scope."),
    })
    .prefault({})
    .describe("Teacher-written tasks, when fewer than count are written by hand."),
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
  require_verified: z.boolean().default(false).describe("Keep only rollouts whose task verifier passed (tasks without a verifier are dropped too)."),
  include_escalations: z
    .boolean()
    .default(false)
    .describe("Add the recorded delegations the teacher answered instead of the student (serve.record) as teacher rows; prompts that are held-out tasks stay out."),
  weights: z
    .strictObject({
      traces: positiveInt().default(1).describe("Copies in train.jsonl of each row from the traces stage."),
      escalations: positiveInt().default(1).describe("Copies in train.jsonl of each row from an escalated delegation."),
    })
    .prefault({})
    .describe("How often each kind of row is repeated in train.jsonl (the trainer weighs rows by repetition); validation keeps one copy."),
  max_answer_tokens: positiveInt()
    .optional()
    .describe("Tokens (Qwen3 tokenizer) a teacher's final answer may have: the orchestrator pays for every token a subagent returns. Longer answers are dropped, or flagged with long_answers: flag."),
  long_answers: z
    .enum(["drop", "flag"])
    .default("drop")
    .describe("What max_answer_tokens does with a longer answer: drop its row (too_long_answer), or keep it and count it in stats.json."),
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
  packing: z
    .boolean()
    .default(true)
    .describe("Pack rows into max_length bins without padding, kept apart by the attention (flash-attn varlen, else SDPA with a block-diagonal mask); false: padded batches of rows of similar length."),
  tokens_per_step: positiveInt()
    .optional()
    .describe("Real (non-pad) tokens per optimizer step; sets the micro-batch size (rows, or packed bins) instead of batch_size."),
  seed: nonNegativeInt().default(42),
  gradient_checkpointing: z.boolean().optional().describe("Recompute activations in the backward pass to save memory; default: on with CUDA, off on the CPU."),
});

const exportSection = z.strictObject({
  gguf_outtype: z.enum(["f16", "bf16", "q8_0"]).default("f16"),
  quantizations: z.array(nonEmpty()).default(["Q4_K_M"]),
  lora_gguf: z.boolean().default(true),
  ollama: z.boolean().default(true),
  fidelity: z
    .enum(["error", "warn"])
    .default("error")
    .describe("What a failed fidelity check (GGUF template or tokens differ from training's) does: fail the build, or only record it."),
  tools: z
    .strictObject({
      convert: nonEmpty().optional().describe("convert_hf_to_gguf.py, or a llama.cpp checkout."),
      convert_lora: nonEmpty().optional().describe("convert_lora_to_gguf.py, or a llama.cpp checkout."),
      quantize: nonEmpty().optional().describe("The llama-quantize binary."),
      server: nonEmpty().optional().describe("The llama-server binary."),
      image: nonEmpty().optional().describe("A Docker image with llama-quantize and llama-server on its PATH."),
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
  targets: z
    .record(z.string(), target())
    .default({})
    .describe("Metric -> a number or a comparison, e.g. success_vs_teacher: \">= 0.95\", max_cost_per_task: 0.01 (see docs/eval.md for the metrics)."),
  max_tokens: positiveInt().default(1024).describe("Completion tokens per reply of the student and the base model during eval."),
  concurrency: positiveInt().default(2).describe("Held-out tasks rolled out at once per model."),
  judge: z
    .strictObject({
      base_url: baseUrl().optional(),
      api_key: apiKey().optional(),
      model: nonEmpty().optional(),
      threshold: between(0, 1).optional().describe("Overall score (0..1) a judged rollout needs to pass."),
      rubric: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_]*$/, { error: "a dimension name in snake_case, such as cites_lines" }),
          nonEmpty("a description of what the dimension rewards"),
        )
        .optional()
        .describe("Dimension name -> what it rewards; extends the built-in rubric (rubric_mode: replace for only these)."),
      rubric_mode: z.enum(["extend", "replace"]).optional(),
      weights: z
        .record(z.string(), nonNegativeNumber())
        .optional()
        .describe("Weight of a dimension in the overall score; 0 scores it without counting it."),
      fail_on_flags: z
        .array(z.enum(FAILURE_FLAGS))
        .optional()
        .describe("Failure modes that fail a rollout whatever its score ([hallucinated_tool_output] when not set)."),
      max_tool_chars: positiveInt().optional().describe("Characters of each tool result shown to the judge (2000)."),
      json_mode: z.boolean().optional().describe("Send response_format json_object (not every endpoint accepts it)."),
    })
    .optional()
    .describe("An LLM judge; endpoint, key and model default to the teacher's."),
});

const webModel = z
  .strictObject({
    base_url: baseUrl().describe("An OpenAI-compatible endpoint, e.g. a small local model."),
    api_key: apiKey().default(""),
    model: nonEmpty(),
    max_tokens: positiveInt().default(1024),
  })
  .describe("The small model that answers WebFetch's prompt over the page's markdown (as Claude Code does).");

const webSearch = z
  .strictObject({
    provider: z.enum(["searxng", "brave", "tavily", "local"]).describe("searxng (its JSON API), brave (Brave Search API), tavily, or local (a folder of documents)."),
    base_url: baseUrl()
      .optional()
      .describe("The provider's endpoint: required for searxng; brave and tavily default to their public APIs; for local, the URL the folder is served at (results link there)."),
    api_key: apiKey("api_key", "BRAVE_API_KEY").optional().describe("Brave's X-Subscription-Token or Tavily's bearer key, as ${NAME}."),
    root: relativePath().optional().describe("local: the documents folder or static site (HTML, Markdown, text), relative to the project directory."),
    serve: z
      .boolean()
      .default(false)
      .describe("local: sabuild serves root at base_url (a loopback http URL with a port) with nginx while rollouts run, for a docs folder no server publishes."),
    max_results: positiveInt().default(8),
  })
  .superRefine((s, ctx) => {
    // Reported on the search mapping itself: the key that is missing has no line to point at.
    const need = (key: "base_url" | "api_key" | "root", example: string): void => {
      if (s[key] !== undefined) return;
      const params: IssueParams = { message: `missing key "${key}": provider ${s.provider} needs it`, hint: `add ${key}: ${example}` };
      ctx.addIssue({ code: "custom", message: `${key} for provider ${s.provider}`, params });
    };
    if (s.provider === "searxng") need("base_url", '"http://localhost:8080"');
    if (s.provider === "brave") need("api_key", '"${BRAVE_API_KEY}"');
    if (s.provider === "tavily") need("api_key", '"${TAVILY_API_KEY}"');
    if (s.provider === "local") need("root", "docs (a folder of the project)");
    if (s.serve) {
      const problem = servedUrlProblem(s.provider, s.base_url);
      if (problem) ctx.addIssue({ code: "custom", path: ["serve"], message: problem.message, params: problem });
    }
  });

/** Why `serve: true` cannot work with this provider and base_url, if it cannot. */
function servedUrlProblem(provider: string, baseUrl: string | undefined): IssueParams | undefined {
  if (provider !== "local") return { message: `serve is for the local provider, not ${provider}`, hint: "remove serve, or set provider: local with root: <the docs folder>" };
  const example = 'base_url: "http://127.0.0.1:8631/"';
  if (baseUrl === undefined) return { message: "serve needs base_url: the loopback address and port to serve the folder at", hint: `add ${example}` };
  const url = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined;
  if (!url || url.protocol !== "http:" || !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) || url.port === "")
    return { message: `serve needs base_url to be a plain http URL on loopback with a port, not ${JSON.stringify(baseUrl)}`, hint: example };
  return undefined;
}

const webFetch = z.strictObject({
  allow: z
    .array(nonEmpty("a host name, an IP address or a CIDR range"))
    .default([])
    .describe("Hosts, addresses or CIDR ranges WebFetch may reach although they are loopback, private, link-local or metadata addresses."),
  max_bytes: positiveInt().default(5_000_000).describe("Bytes of one response body; a larger page is refused."),
  timeout_ms: positiveInt().default(30_000).describe("Milliseconds one fetch may take, redirects included."),
  max_redirects: nonNegativeInt().default(5),
  max_chars: positiveInt().default(40_000).describe("Characters of markdown returned when no model answers the prompt."),
  model: webModel.optional(),
});

const web = z
  .strictObject({
    mode: z
      .enum(["record", "replay", "live"])
      .default("record")
      .describe("record: a stored result if there is one, else live and stored; replay: stored results only (offline, deterministic); live: always live, nothing stored."),
    search: webSearch.optional().describe("The WebSearch provider; without it WebSearch is unavailable."),
    fetch: webFetch.optional().describe("WebFetch, run on the host; without it WebFetch is unavailable."),
  })
  .describe("Web access for WebSearch and WebFetch; sandboxes keep their own network policy.");

const route = z
  .strictObject({
    policy: z
      .enum(["student", "teacher", "fallback", "cascade", "learned"])
      .default("fallback")
      .describe(
        "student: always the student; teacher: always the teacher; fallback: the student, the teacher when it errors, times out or breaks the contract; cascade: the student, the teacher when route.checks fail; learned: a router trained on eval and benchmark outcomes sends the tasks it predicts the student fails to the teacher (see route.threshold).",
      ),
    checks: z
      .strictObject({
        contract: z.boolean().default(true).describe("Escalate a final reply without the output contract's tag."),
        hard_checks: z.boolean().default(false).describe("Escalate past traces.max_turns turns or more than dataset.max_repeated_tool_calls identical tool calls."),
        min_confidence: between(0, 1)
          .optional()
          .describe("Escalate a reply whose mean token probability (llama-server's log-probabilities) is below this."),
        min_judge_score: between(0, 1)
          .optional()
          .describe("Escalate a final answer the judge (eval.judge, else the teacher) scores below this; costs a judge call per answer."),
        combine: z.enum(["any", "all"]).default("any").describe("any: one failing check escalates; all: only when every configured check fails."),
      })
      .prefault({})
      .describe("What a cascade checks before it returns the student's answer."),
    threshold: between(0, 1)
      .default(0.5)
      .describe("learned: the router's predicted student success below which the teacher answers. Higher sends more to the teacher; `sabuild route calibrate` sets it."),
    learn_from_benchmarks: z
      .boolean()
      .default(true)
      .describe(
        "The router (<subagent>:router) also learns from the student's delegations in the benchmarks that offer this subagent (their arms but routed), so building the subagent runs those arms. false: eval's outcomes only.",
      ),
    drift: z
      .strictObject({
        window: positiveInt().default(200).describe("Requests over which the escalation rate is measured."),
        margin: between(0, 1).default(0.1).describe("Warn when the window's escalation rate exceeds the eval's by more than this."),
      })
      .prefault({}),
  })
  .describe("How `sabuild serve` routes this subagent's requests between its student and its teacher.");

/** Every subagent setting; `defaults` holds the same keys. */
export const settingsSchema = z.strictObject({
  until: z
    .enum(STAGE_KINDS)
    .optional()
    .describe("The last stage to build for this subagent (e.g. dataset on a machine without a GPU); later stages are left out."),
  unsupported_tools: z.enum(["error", "ignore"]).default("error"),
  mcp_servers: z
    .record(
      z.string().regex(/^[A-Za-z0-9_-]+$/, "an MCP server name is letters, digits, _ and -"),
      z.union([
        z.strictObject({
          command: nonEmpty().describe("The stdio server's program; ${VAR} references are substituted when it starts"),
          args: z.array(z.string()).optional(),
          env: z.record(z.string(), z.string()).optional().describe("Extra environment; secrets as ${VAR} references"),
          cwd: z.string().optional().describe("In the sandbox: relative to the image's workdir; on the host: relative to the project root"),
          run: z
            .enum(["sandbox", "host"])
            .optional()
            .describe("sandbox (the default): started in each rollout's container, which the recipe installs it into; host: started on this machine, outside the sandbox (with a warning)"),
        }),
        z.strictObject({
          type: z.enum(["http", "streamable-http"]).optional(),
          url: nonEmpty().describe("The streamable HTTP endpoint"),
          headers: z.record(z.string(), z.string()).optional().describe("Request headers; secrets as ${VAR} references"),
        }),
      ]),
    )
    .default({})
    .describe("MCP servers whose tools the subagent may name as mcp__<server>__<tool>; they replace servers of the same name the agent file or plugin declares."),
  mcp_mode: z
    .enum(["record", "replay", "live"])
    .default("record")
    .describe("MCP tool results (and the tool listings of servers in the sandbox), as web.mode for web results: record: a stored result if there is one, else live and stored; replay: stored results only (the servers never start); live: always live, nothing stored."),
  teacher: teacherSchema.prefault({}),
  base_model: nonEmpty().default("Qwen/Qwen3-4B-Instruct-2507"),
  sandbox: sandboxSchema.prefault({}),
  tasks: tasks.prefault({}),
  traces: traces.prefault({}),
  dataset: dataset.prefault({}),
  train: train.prefault({}),
  export: exportSection.prefault({}),
  eval: evalSection.prefault({}),
  web: web.optional(),
  route: route.prefault({}),
  executor: z
    .strictObject(Object.fromEntries(STAGE_KINDS.map((kind) => [kind, nonEmpty("an executor name").optional()])) as Record<StageKind, z.ZodOptional<z.ZodString>>)
    .prefault({})
    .describe("Where each stage kind runs: an executor of `executors:`, or local (this machine, the default)."),
});

const fromLibrary = nonEmpty("a library's name")
  .optional()
  .describe("A library declared under libraries: the path is then relative to the library's folder (its pinned commit for a git library).");

export const sourceSchema = z.union(
  [
    z.strictObject({ agent: relativePath().describe("A Claude Code agent .md file."), library: fromLibrary }),
    z.strictObject({ skill: relativePath().describe("A skill directory or its SKILL.md."), library: fromLibrary }),
    z.strictObject({
      plugin: relativePath().describe("A Claude Code plugin directory."),
      name: nonEmpty().optional().describe("Which agent or skill of the plugin."),
      library: fromLibrary,
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
