import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { StageKind } from "../src/stages/types.js";
import { makeProject, REPO, sabuild, sabuildJson } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";

/**
 * The spec of every stage's key: each declared input, changed on its own, must change the key,
 * and `plan` must name it; client mechanics and secrets must not. One project holds one
 * subagent per case, so a single build and a single plan check the whole table.
 *
 * The stages are the real ones (their inputs() and version) with no upstreams and a run that
 * writes nothing of note (the plugin below): plan computes keys without running a stage, and
 * with no upstreams an edit reaches only the stage under test. That upstream outputs join a key
 * is the engine's part (tests/engine.test.ts) and the traces and eval items' (traces.test.ts).
 *
 * In settings and file names, "@/" is the case's own folder (v/<subagent>/) and "@@" the
 * subagent's name, so no case sees another's files.
 */

type Settings = { [key: string]: unknown };
type Files = Record<string, string>;
type Expected = Record<string, unknown> | "unchanged";

interface Variant {
  settings?: Settings;
  files?: Files;
  /** Files made executable (chmod +x). */
  executable?: string[];
}

interface Case {
  change: string;
  /** The subagent before the change, over BASE. */
  before?: Variant;
  after: Variant;
  /** A reason plan must give for the stage, or "unchanged": the key must stay. */
  expect: Expected;
}

const at = (path: string, value: unknown): Settings => path.split(".").reduceRight<unknown>((v, k) => ({ [k]: v }), value) as Settings;
const param = (path: string) => ({ type: "param", path });
const file = (path: string, change: "added" | "removed" | "modified" = "modified") => ({ type: "file", path, change });
const tool = (name: string) => ({ type: "toolchain", name });

/** Sets one setting (a dotted path in the subagent's section). */
function set(path: string, value: unknown, expected: Expected, before?: Variant): Case {
  return { change: `${path}: ${JSON.stringify(value)}`, after: { settings: at(path, value) }, expect: expected, ...(before ? { before } : {}) };
}

/** Rewrites one file. */
function edit(path: string, content: string, expected: Expected, before?: Variant): Case {
  return { change: `edit ${path}`, after: { files: { [path]: content } }, expect: expected, ...(before ? { before } : {}) };
}

const LLAMA_TOOLS = {
  convert: "@/llama/convert_hf_to_gguf.py",
  convert_lora: "@/llama/convert_lora_to_gguf.py",
  quantize: "@/llama/llama-quantize",
  server: "@/llama/llama-server",
};

/** What every case starts from: a subagent whose every stage's inputs() succeeds offline. */
const BASE: Settings = {
  source: { inline: { description: "Answers questions about the repository", prompt: "You answer questions.", tools: ["Bash", "Read"] } },
  teacher: { model: "m1", base_url: "http://127.0.0.1:9/v1", api_key: "${OPENAI_API_KEY}" },
  base_model: "@/base",
  tasks: { seed: ["say hi"], count: 1, holdout: 0 },
  export: { tools: LLAMA_TOOLS },
};

const BASE_FILES: Files = {
  "@/base/config.json": '{"model_type": "qwen3"}',
  "@/base/tokenizer.json": '{"version": "1.0"}',
  "@/base/tokenizer_config.json": '{"eos_token": "<|im_end|>"}',
  ...Object.fromEntries(Object.values(LLAMA_TOOLS).map((p) => [p, "v1\n"])),
};

const STANDIN: Variant = { settings: { teacher: { standin: "@/policy.mjs" } }, files: { "@/policy.mjs": "export const policy = () => ({ content: 'a' });\n" } };
const GENERATING: Variant = { settings: { tasks: { count: 5 } } };
const JUDGED: Variant = { settings: { dataset: { judge_threshold: 0.5 }, eval: { judge: { model: "j1" } } } };
const JUDGE: Variant = { settings: { eval: { judge: { model: "j1" } } } };
const RECIPE: Variant = {
  settings: { sandbox: { recipe: "@@" } },
  files: {
    "recipes/@@/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY run.sh /run.sh\n",
    "recipes/@@/recipe.yaml": "description: a test recipe\n",
    "recipes/@@/run.sh": "echo hi\n",
  },
};
const AGENT: Variant = { settings: { source: { agent: "@/agent.md" } }, files: { "@/agent.md": "---\nname: helper\ndescription: Helps\n---\nYou help.\n" } };
const SKILL: Variant = {
  settings: { source: { skill: "@/skill" } },
  files: { "@/skill/SKILL.md": "---\nname: helper\ndescription: Helps\n---\nRun scripts/run.sh.\n", "@/skill/scripts/run.sh": "echo 1\n" },
};
const WEB: Variant = {
  settings: { web: { search: { provider: "brave", base_url: "http://127.0.0.1:6", api_key: "${OPENAI_API_KEY}" }, fetch: { allow: ["localhost"] } } },
};
const MCP: Variant = { settings: { mcp_servers: { inventory: { command: "node", args: ["/opt/inventory/server.mjs"], env: { TOKEN: "${OPENAI_API_KEY}" } } } } };
const LOCAL_SEARCH: Variant = { settings: { web: { search: { provider: "local", root: "@/docs" } } }, files: { "@/docs/index.md": "# Docs\n" } };
const LOCAL_SITE: Variant = { settings: { web: { search: { provider: "local", root: "@/docs", base_url: "http://127.0.0.1:8631/" } } }, files: { "@/docs/index.md": "# Docs\n" } };
const TRAFFIC = "cache/traffic/@@/current.jsonl";
const RECORD = (prompt: string) => `${JSON.stringify({ v: 1, id: prompt, at: "2026-01-01T00:00:00Z", subagent: "@@", mode: "gateway", prompt, answered_by: "teacher", route_reason: "contract", answer: "a", tokens: { prompt: 1, completion: 1 }, latency_ms: 1 })}\n`;
const FROM_RECORDED: Variant = { settings: { tasks: { from_recorded: true } }, files: { [TRAFFIC]: RECORD("where is x") } };
const ESCALATIONS: Variant = { settings: { dataset: { include_escalations: true } }, files: { [TRAFFIC]: RECORD("where is x") } };
const DOCKER_TRAINER: Settings = { train: { runner: "docker", image: "debian:bookworm-slim" } };

/** Stage kind -> each input it declares, changed in turn, and what plan must say. */
const SPEC: Record<StageKind, Case[]> = {
  import: [
    set("source.inline.prompt", "You answer briefly.", param("source.inline.prompt")),
    set("source.inline.description", "Answers anything", param("source.inline.description")),
    set("source.inline.tools", ["Read"], param("source.inline.tools")),
    set("source.inline.name", "helper", param("name")),
    set("unsupported_tools", "ignore", param("unsupported_tools")),
    set("mcp_servers", { docs: { url: "http://127.0.0.1:9/mcp" } }, param("mcp_servers.docs")),
    set("mcp_servers.inventory.run", "host", param("mcp_servers.inventory.run"), MCP),
    set("mcp_servers.inventory.args", ["/opt/inventory/v2.mjs"], param("mcp_servers.inventory.args"), MCP),
    // The secret's value is never in a key; which variable it is read from is.
    set("mcp_servers.inventory.env", { TOKEN: "${OTHER_KEY}" }, param("mcp_servers.inventory.env.TOKEN"), MCP),
    edit("@/agent.md", "---\nname: helper\ndescription: Helps\n---\nYou help a lot.\n", file("@/agent.md"), AGENT),
    edit("@/skill/scripts/run.sh", "echo 2\n", file("@/skill/scripts/run.sh"), SKILL),
  ],
  sandbox: [
    set("sandbox.recipe", "python-repo", param("recipe")),
    set("sandbox.base_image", "debian:trixie-slim", param("base_image")),
    set("sandbox.network", "bridge", param("limits.network")),
    set("sandbox.memory", "1g", param("limits.memory")),
    set("sandbox.cpus", 2, param("limits.cpus")),
    set("sandbox.pids", 64, param("limits.pids")),
    set("sandbox.command_timeout_s", 5, param("limits.command_timeout_s")),
    set("sandbox.output_limit_bytes", 1000, param("limits.output_limit_bytes")),
    edit("recipes/@@/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n", file("recipes/@@/Dockerfile"), RECIPE),
    { change: "add a file to the recipe", before: RECIPE, after: { files: { "recipes/@@/extra.txt": "x\n" } }, expect: file("recipes/@@/extra.txt", "added") },
    { change: "chmod +x a recipe file", before: RECIPE, after: { executable: ["recipes/@@/run.sh"] }, expect: param("executable") },
  ],
  tasks: [
    set("tasks.seed", ["say hello"], param("seed")),
    set("tasks.holdout", 0.5, param("holdout")),
    set("tasks.from", ["@/a.jsonl"], param("from"), { files: { "@/a.jsonl": '"task a"\n' } }),
    edit("@/a.jsonl", '"task b"\n', file("@/a.jsonl"), { settings: { tasks: { from: ["@/a.jsonl"] } }, files: { "@/a.jsonl": '"task a"\n' } }),
    set("tasks.count", 5, param("generate")),
    set("tasks.count", 6, param("generate.count"), GENERATING),
    set("tasks.generate.depth", 3, param("generate.depth"), GENERATING),
    set("tasks.generate.degree", 2, param("generate.degree"), GENERATING),
    set("tasks.generate.per_leaf", 2, param("generate.per_leaf"), GENERATING),
    set("tasks.generate.dedup_threshold", 0.5, param("generate.dedup_threshold"), GENERATING),
    set("tasks.generate.scope_check", true, param("generate.scope_check"), GENERATING),
    set("tasks.budget", { usd: 1 }, param("generate.budget"), GENERATING),
    set("teacher.model", "m2", param("generate.teacher.model"), GENERATING),
    set("teacher.base_url", "http://127.0.0.1:8/v1", param("generate.teacher.base_url"), GENERATING),
    set("teacher.temperature", 0.2, param("generate.teacher.temperature"), GENERATING),
    set("teacher.max_tokens", 100, param("generate.teacher.max_tokens"), GENERATING),
    set("teacher.pricing", { input_per_mtok: 1, output_per_mtok: 2 }, param("generate.teacher.pricing"), GENERATING),
    set("sandbox.recipe", "python-repo", param("generate.workspace.source"), GENERATING),
    set("tasks.count", 1, "unchanged", { settings: { tasks: { seed: ["a", "b"], count: 2 } } }),
    set("tasks.from_recorded", true, param("from_recorded")),
    edit(TRAFFIC, RECORD("where is x") + RECORD("where is y"), file(TRAFFIC), FROM_RECORDED),
    { change: "the first recorded delegation", before: { settings: FROM_RECORDED.settings! }, after: { files: FROM_RECORDED.files! }, expect: file(TRAFFIC, "added") },
    set("tasks.generate.dedup_threshold", 0.5, param("from_recorded.dedup_threshold"), FROM_RECORDED),
    { change: "traffic without tasks.from_recorded", after: { files: FROM_RECORDED.files! }, expect: "unchanged" },
  ],
  traces: [
    set("teacher.model", "m2", param("teacher.model")),
    set("teacher.base_url", "http://127.0.0.1:8/v1", param("teacher.endpoint")),
    set("teacher.max_tokens", 100, param("teacher.max_tokens")),
    set("teacher.temperature", 0.2, param("temperature")),
    set("traces.temperature", 0.2, param("temperature")),
    set("traces.samples_per_task", 2, param("samples_per_task")),
    set("traces.max_turns", 3, param("max_turns")),
    set("traces.output_contract.tag", "answer", param("contract")),
    set("teacher.standin", "@/policy.mjs", param("teacher.endpoint"), { files: STANDIN.files! }),
    edit("@/policy.mjs", "export const policy = () => ({ content: 'b' });\n", file("@/policy.mjs"), STANDIN),
    set("teacher.concurrency", 1, "unchanged"),
    set("teacher.max_retries", 1, "unchanged"),
    set("teacher.timeout_s", 5, "unchanged"),
    set("teacher.api_key", "${OTHER_KEY}", "unchanged"),
    set("traces.budget", { usd: 1 }, "unchanged"),
    set("web.search", { provider: "searxng", base_url: "http://127.0.0.1:6" }, param("web")),
    set("web.mode", "replay", param("web.mode"), WEB),
    set("web.search.base_url", "http://127.0.0.1:5", param("web.search.base_url"), WEB),
    set("web.search.max_results", 3, param("web.search.max_results"), WEB),
    set("web.fetch.allow", ["localhost", "10.0.0.0/8"], param("web.fetch.allow"), WEB),
    set("web.fetch.max_bytes", 1000, param("web.fetch.max_bytes"), WEB),
    set("web.fetch.model", { base_url: "http://127.0.0.1:4/v1", model: "small" }, param("web.fetch.model"), WEB),
    edit("@/docs/index.md", "# Docs, edited\n", file("@/docs/index.md"), LOCAL_SEARCH),
    set("web.search.serve", true, param("web.search.serve"), LOCAL_SITE),
    set("web.search.api_key", "${OTHER_KEY}", "unchanged", WEB),
    set("mcp_mode", "replay", param("mcp_mode")),
    set("mcp_mode", "live", param("mcp_mode"), { settings: { mcp_mode: "replay" } }),
  ],
  dataset: [
    set("dataset.max_tokens_per_row", 100, param("max_tokens_per_row")),
    set("dataset.validation", 0.2, param("validation")),
    set("dataset.judge_threshold", 0.5, param("judge_threshold")),
    set("dataset.max_repeated_tool_calls", 5, param("max_repeated_tool_calls")),
    set("dataset.keep_reasoning", true, param("keep_reasoning")),
    set("dataset.require_verified", true, param("require_verified")),
    edit("@/base/tokenizer.json", '{"version": "2.0"}', param("base_model")),
    set("train.base_model", "org/model", param("base_model")),
    set("eval.judge.model", "j2", param("judge.model"), JUDGED),
    set("eval.judge.base_url", "http://127.0.0.1:7/v1", param("judge.endpoint"), JUDGED),
    set("eval.judge.rubric", { cites_lines: "Cites line numbers." }, param("judge.rubric_digest"), JUDGED),
    set("eval.judge.max_tool_chars", 100, param("judge.rubric_digest"), JUDGED),
    set("eval.judge.json_mode", true, param("judge.rubric_digest"), JUDGED),
    edit("@/policy.mjs", "export const policy = () => ({ content: 'b' });\n", file("@/policy.mjs"), { settings: { ...STANDIN.settings, ...JUDGED.settings }, files: STANDIN.files! }),
    set("dataset.include_escalations", true, param("include_escalations")),
    edit(TRAFFIC, RECORD("where is x") + RECORD("where is y"), file(TRAFFIC), ESCALATIONS),
    set("tasks.holdout", 0.5, param("escalations.holdout"), ESCALATIONS),
    set("traces.output_contract.tag", "answer", param("escalations.contract"), ESCALATIONS),
    { change: "traffic without dataset.include_escalations", after: { files: ESCALATIONS.files! }, expect: "unchanged" },
    set("dataset.weights.escalations", 3, param("weights")),
    set("dataset.max_answer_tokens", 200, param("max_answer_tokens")),
    set("dataset.long_answers", "flag", param("long_answers"), { settings: { dataset: { max_answer_tokens: 200 } } }),
    set("dataset.long_answers", "flag", "unchanged"),
  ],
  train: [
    set("base_model", "org/model", param("base_model")),
    edit("@/base/config.json", '{"model_type": "llama"}', file("@/base/config.json")),
    { change: "runner: docker", after: { settings: DOCKER_TRAINER }, expect: param("runner") },
    { change: "runner: docker (its image)", after: { settings: DOCKER_TRAINER }, expect: tool("trainer.image") },
    set("train.lora.r", 8, param("lora.r")),
    set("train.lora.alpha", 16, param("lora.alpha")),
    set("train.lora.dropout", 0.1, param("lora.dropout")),
    set("train.lora.target_modules", ["q_proj"], param("lora.target_modules")),
    set("train.epochs", 1, param("epochs")),
    set("train.learning_rate", 1e-4, param("learning_rate")),
    set("train.batch_size", 2, param("batch_size")),
    set("train.grad_accum", 2, param("grad_accum")),
    set("train.max_length", 1024, param("max_length")),
    set("train.packing", false, param("packing")),
    set("train.tokens_per_step", 65536, param("tokens_per_step")),
    set("train.seed", 7, param("seed")),
    set("train.gradient_checkpointing", false, param("gradient_checkpointing")),
  ],
  export: [
    set("base_model", "org/model", param("base_model")),
    edit("@/base/tokenizer_config.json", '{"eos_token": "</s>"}', file("@/base/tokenizer_config.json")),
    set("export.gguf_outtype", "bf16", param("gguf_outtype")),
    set("export.quantizations", ["Q8_0"], param("quantizations")),
    set("export.lora_gguf", false, param("lora_gguf")),
    set("export.ollama", false, param("ollama")),
    set("export.fidelity", "warn", param("fidelity")),
    edit(LLAMA_TOOLS.convert, "v2\n", tool("llama.cpp/convert")),
    edit(LLAMA_TOOLS.convert_lora, "v2\n", tool("llama.cpp/convert_lora")),
    edit(LLAMA_TOOLS.quantize, "v2\n", tool("llama.cpp/quantize")),
    edit(LLAMA_TOOLS.server, "v2\n", tool("llama.cpp/server")),
  ],
  eval: [
    set("eval.models", ["student"], param("models")),
    set("eval.targets", { success_vs_teacher: ">= 0.9" }, param("targets.success_vs_teacher")),
    set("eval.gate", false, param("gate")),
    set("eval.gate_reason", "tiny models", param("gate_reason")),
    set("eval.max_tokens", 100, param("max_tokens")),
    set("eval.concurrency", 4, param("concurrency")),
    set("traces.max_turns", 3, param("max_turns")),
    set("traces.output_contract.tag", "answer", param("contract")),
    set("base_model", "org/model", param("base_model")),
    edit("@/base/config.json", '{"model_type": "llama"}', file("@/base/config.json")),
    edit(LLAMA_TOOLS.server, "v2\n", tool("llama.cpp/server")),
    edit(LLAMA_TOOLS.convert, "v2\n", tool("llama.cpp/convert")),
    set("teacher.model", "m2", param("teacher.model")),
    set("teacher.max_tokens", 100, param("teacher.max_tokens")),
    edit("@/policy.mjs", "export const policy = () => ({ content: 'b' });\n", file("@/policy.mjs"), STANDIN),
    set("eval.judge.model", "j2", param("judge.model"), JUDGE),
    set("eval.judge.base_url", "http://127.0.0.1:7/v1", param("judge.base_url"), JUDGE),
    set("eval.judge.threshold", 0.7, param("judge.threshold"), JUDGE),
    set("eval.judge.rubric", { cites_lines: "Cites line numbers." }, param("judge.rubric_digest"), JUDGE),
    set("eval.judge.rubric_mode", "replace", param("judge.rubric_mode"), { settings: { eval: { judge: { model: "j1", rubric: { cites_lines: "Cites line numbers." } } } } }),
    set("eval.judge.weights", { correctness: 5 }, param("judge.weights"), JUDGE),
    set("eval.judge.fail_on_flags", ["looping"], param("judge.fail_on_flags"), JUDGE),
    set("eval.judge.max_tool_chars", 100, param("judge.max_tool_chars"), JUDGE),
    set("eval.judge.json_mode", true, param("judge.json_mode"), JUDGE),
    set("eval.judge.api_key", "${JUDGE_KEY}", "unchanged", JUDGE),
    set("teacher.concurrency", 1, "unchanged"),
    set("web.fetch.timeout_ms", 5000, param("web.fetch.timeout_ms"), WEB),
    set("web.search.provider", "tavily", param("web.search.provider"), WEB),
    set("web.search.serve", true, param("web.search.serve"), LOCAL_SITE),
    set("web.search.api_key", "${OTHER_KEY}", "unchanged", WEB),
    set("mcp_mode", "replay", param("mcp_mode")),
  ],
  // The router's inputs are eval's output and its method (and the runs of benchmarks offering the subagent: none
  // here, so learn_from_benchmarks changes nothing; tests/route-bench.test.ts has one): the threshold
  // and policy are read when serving.
  router: [set("route.threshold", 0.8, "unchanged"), set("route.policy", "learned", "unchanged"), set("route.checks.min_confidence", 0.5, "unchanged"), set("route.learn_from_benchmarks", false, "unchanged")],
  report: [
    set("teacher.standin", "@/policy.mjs", param("standin")),
    set("eval.gate", false, param("gate")),
    set("eval.gate_reason", "tiny models", param("gate_reason")),
  ],
};

/** Each pipeline stage with its real inputs() and version, no upstreams, and a run that writes a marker. */
const PLUGIN = `import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { builtinStages } from ${JSON.stringify(pathToFileURL(join(REPO, "dist/stages/index.js")).href)};
export default async () => (await builtinStages()).map((stage) => ({
  kind: stage.kind,
  version: stage.version,
  deps: [],
  inputs: (ctx) => stage.inputs(ctx),
  run: async (ctx) => writeFileSync(join(ctx.outDir, "built"), ""),
}));
`;

const isSettings = (v: unknown): v is Settings => typeof v === "object" && v !== null && !Array.isArray(v);

/** b over a, mappings merged; a source of another kind (agent for inline) replaces the old one. */
function merge(a: Settings, b: Settings = {}): Settings {
  const out: Settings = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const old = out[k];
    const otherSource = k === "source" && isSettings(old) && isSettings(v) && Object.keys(old)[0] !== Object.keys(v)[0];
    out[k] = isSettings(v) && isSettings(old) && !otherSource ? merge(old, v) : v;
  }
  return out;
}

interface Row {
  name: string;
  kind: StageKind;
  change: Case;
}

const ROWS: Row[] = (Object.entries(SPEC) as [StageKind, Case[]][]).flatMap(([kind, cases]) => cases.map((c, i) => ({ name: `${kind}-${i + 1}`, kind, change: c })));

/** "@/" and "@@" made the row's own. */
function own(row: Row, text: string): string {
  return text.replaceAll("@@", row.name).replaceAll("@/", `v/${row.name}/`);
}

function settingsOf(row: Row, stage: "before" | "after"): Settings {
  const before = merge(BASE, row.change.before?.settings);
  return stage === "before" ? before : merge(before, row.change.after.settings);
}

function writeConfig(dir: string, stage: "before" | "after"): void {
  const subagents = Object.fromEntries(ROWS.map((row) => [row.name, JSON.parse(own(row, JSON.stringify(settingsOf(row, stage))))]));
  // JSON is YAML: the config is generated, not written by hand.
  writeFileSync(join(dir, "subagents.yaml"), `${JSON.stringify({ version: 1, plugins: ["keys-plugin.mjs"], subagents }, null, 1)}\n`);
}

function writeFiles(dir: string, row: Row, files: Files): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, own(row, path));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, own(row, content));
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

type Planned = { stages: { id: string; status: string; key?: string; reasons: Record<string, unknown>[] }[] };

const SECRET = "sk-test-0123456789abcdef-never-in-a-key";

describe("stage keys", () => {
  let planned: Map<string, Planned["stages"][number]>;
  let locked: Record<string, { key: string }>;
  let dir: string;

  beforeAll(async () => {
    // The docker runner's case inspects a trainer image, as plan does.
    await ensureDocker();
    dir = makeProject({ "keys-plugin.mjs": PLUGIN });
    for (const row of ROWS) writeFiles(dir, row, { ...BASE_FILES, ...row.change.before?.files });
    writeConfig(dir, "before");
    const targets = ROWS.map((r) => `${r.name}:${r.kind}`);
    const env = { OPENAI_API_KEY: SECRET, JUDGE_KEY: SECRET, OTHER_KEY: SECRET };
    const built = sabuild(dir, ["build", ...targets], env);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    locked = (JSON.parse(readFileSync(join(dir, "sabuild.lock"), "utf8")) as { stages: typeof locked }).stages;

    writeConfig(dir, "after");
    for (const row of ROWS) {
      writeFiles(dir, row, row.change.after.files ?? {});
      for (const path of row.change.after.executable ?? []) chmodSync(join(dir, own(row, path)), statSync(join(dir, own(row, path))).mode | 0o111);
    }
    // Another secret in the environment: a key's value is never an input.
    const plan = sabuildJson<Planned>(dir, ["plan", ...targets], { OPENAI_API_KEY: `${SECRET}-rotated`, JUDGE_KEY: "other", OTHER_KEY: "other" });
    expect(plan.__code).toBe(0);
    planned = new Map(plan.stages.map((s) => [s.id, s]));
  }, 120_000);

  describe.each(Object.keys(SPEC) as StageKind[])("%s", (kind) => {
    it.each(ROWS.filter((r) => r.kind === kind).map((r) => [r.change.change, r] as const))("%s", (_change, row) => {
      const id = `${row.name}:${row.kind}`;
      const now = planned.get(id)!;
      const before = locked[id]!.key;
      if (row.change.expect === "unchanged") {
        expect(now).toMatchObject({ status: "up-to-date", key: before });
        return;
      }
      const expected = Object.fromEntries(Object.entries(row.change.expect).map(([k, v]) => [k, typeof v === "string" ? own(row, v) : v]));
      expect(now.key, `${id}: ${JSON.stringify(now.reasons)}`).toBeDefined();
      expect(now.key).not.toBe(before);
      expect(now.reasons).toContainEqual(expect.objectContaining(expected));
    });
  });

  it("never puts a secret in a key, the lock or a stored preimage", () => {
    const results = filesUnder(join(dir, "cache", "ac"));
    // One stored result (with its preimage) per distinct key: cases with equal inputs share one.
    expect(results).toHaveLength(new Set(Object.values(locked).map((l) => l.key)).size);
    for (const path of [join(dir, "sabuild.lock"), ...results]) expect(readFileSync(path, "utf8"), path).not.toContain(SECRET);
  });
});
