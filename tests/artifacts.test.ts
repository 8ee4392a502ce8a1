import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  artifactOr,
  describeArtifactError,
  expectArtifact,
  readDatasetStats,
  readEvalResult,
  readExportSummary,
  readHeldOutTasks,
  readImportedTools,
  readItemIds,
  readRowTrace,
  readSandboxImage,
  readSpec,
  readTaskSummary,
  readTrace,
  readTrainMetrics,
  readTrainTasks,
  type ArtifactResult,
} from "../src/artifacts/index.js";
import type { DatasetStats } from "../src/dataset/types.js";
import type { EvalResult } from "../src/eval/types.js";
import type { SandboxImage } from "../src/sandbox/types.js";
import { gatherReport } from "../src/stages/report-run.js";
import type { RunContext } from "../src/stages/types.js";
import { makeProject, REPO, sabuild, sabuildJson, tempDir } from "./helpers.js";

/** A stage output directory holding these files (objects are written as JSON). */
function outputDir(files: Record<string, unknown>): string {
  const dir = tempDir("sabuild-artifacts-");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), typeof content === "string" ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** The one-line error of a read that must fail. */
function failure(r: ArtifactResult<unknown>): string {
  if (r.ok) throw new Error(`read, but should not have: ${JSON.stringify(r.value).slice(0, 200)}`);
  return describeArtifactError(r.error);
}

/** A deep copy with `path` set to `value` (undefined deletes it). */
function edited<T>(value: T, path: (string | number)[], to: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (to === undefined) delete at[last];
  else at[last] = to;
  return copy;
}

function project(plugins: Record<string, string>, extra: string[] = []): string {
  const dir = makeProject({
    "subagents.yaml": [
      "version: 1",
      `plugins: [${Object.keys(plugins).map((p) => `plugins/${p}`).join(", ")}]`,
      "subagents:",
      "  alpha:",
      "    source:",
      "      inline:",
      "        description: Answers questions about the repository",
      "        prompt: You answer questions.",
      "    tasks:",
      "      from: tasks.jsonl",
      "      holdout: 0.5",
      "      count: 1",
      ...extra,
      "",
    ].join("\n"),
    "tasks.jsonl": ["t1", "t2", "t3", "t4"].map((id) => JSON.stringify({ id, prompt: `What does part ${id} of the repository do?` })).join("\n") + "\n",
  });
  for (const [name, text] of Object.entries(plugins)) {
    mkdirSync(join(dir, "plugins"), { recursive: true });
    if (text.startsWith("fixture:")) copyFileSync(join(REPO, "tests/fixtures/plugins", text.slice("fixture:".length)), join(dir, "plugins", name));
    else writeFileSync(join(dir, "plugins", name), text);
  }
  return dir;
}

const tree = (dir: string, node: string, env: Record<string, string> = {}): string => sabuildJson<{ tree: string }>(dir, ["artifacts", node], env).tree;

describe("readers of what the built-in stages write", () => {
  // The real producers: the import and tasks stages, and a plugin that writes whole traces.
  let dir = "";
  beforeAll(() => {
    dir = project({ "dataset-traces.mjs": "fixture:dataset-traces.mjs" });
    const built = sabuildJson<{ stages: { id: string; error?: string }[] }>(dir, ["build", "alpha:traces"]);
    if (built.__code !== 0) throw new Error(`build failed: ${JSON.stringify(built.stages.filter((s) => s.error))}`);
  });

  it("read spec.json, tools.json, tasks.jsonl, heldout.jsonl, summary.json, index.json and trace.json as their stages wrote them", async () => {
    const imported = tree(dir, "alpha:import");
    const spec = expectArtifact(await readSpec(imported), "import");
    expect(spec).toMatchObject({ name: "alpha", description: "Answers questions about the repository", prompt: "You answer questions.", provenance: { format: "inline" } });
    expect(spec).toEqual(JSON.parse(readFileSync(join(imported, "spec.json"), "utf8")));
    const tools = expectArtifact(await readImportedTools(imported), "import");
    expect(tools.resolved.length).toBeGreaterThan(0);
    expect(tools.definitions.map((d) => d.function.name)).toEqual(tools.resolved);

    const tasksDir = tree(dir, "alpha:tasks");
    const train = expectArtifact(await readTrainTasks(tasksDir), "tasks");
    const heldout = expectArtifact(await readHeldOutTasks(tasksDir), "tasks");
    expect([...train, ...heldout].map((t) => t.id).sort()).toEqual(["t1", "t2", "t3", "t4"]);
    expect(train[0]).toMatchObject({ prompt: expect.stringContaining("What does part"), tags: [], origin: expect.stringMatching(/^tasks\.jsonl:\d$/) });
    expect(expectArtifact(await readTaskSummary(tasksDir), "tasks")).toMatchObject({ total: 4, train: train.length, heldout: heldout.length });

    const traces = tree(dir, "alpha:traces");
    const ids = expectArtifact(await readItemIds(traces), "traces");
    expect(ids).toEqual(train.map((t) => `${t.id}.s0`));
    const trace = expectArtifact(await readTrace(traces, `items/${ids[0]}/trace.json`), "traces");
    expect(trace).toEqual(JSON.parse(readFileSync(join(traces, "items", ids[0]!, "trace.json"), "utf8")));
    expect(expectArtifact(await readRowTrace(traces, `items/${ids[0]}/trace.json`), "traces").messages.length).toBeGreaterThan(2);
  });

  it("name the file, the field and what is wrong with it", async () => {
    const imported = tree(dir, "alpha:import");
    const spec = JSON.parse(readFileSync(join(imported, "spec.json"), "utf8"));
    const tools = JSON.parse(readFileSync(join(imported, "tools.json"), "utf8"));
    expect(failure(await readSpec(outputDir({ "spec.json": "{\"name\": \"alpha\", " })))).toMatch(/^spec\.json: not JSON \(.+\)$/);
    expect(failure(await readSpec(outputDir({ "spec.json": edited(spec, ["description"], 7) })))).toBe("spec.json: description: expected string, received number");
    expect(failure(await readSpec(outputDir({ "spec.json": edited(spec, ["provenance", "format"], "markdown") })))).toBe(
      'spec.json: provenance.format: expected one of "claude-agent"|"skill"|"plugin-agent"|"plugin-skill"|"inline"',
    );
    expect(failure(await readSpec(outputDir({ "spec.json": edited(spec, ["prompt"], undefined) })))).toBe("spec.json: prompt: missing (expected string)");
    expect(failure(await readSpec(outputDir({})))).toBe("spec.json: no such file");
    expect(failure(await readImportedTools(outputDir({ "tools.json": edited(tools, ["resolved"], "Bash") })))).toBe("tools.json: resolved: expected array, received string");
    expect(failure(await readImportedTools(outputDir({ "tools.json": edited(tools, ["definitions", 0, "function", "name"], undefined) })))).toBe(
      "tools.json: definitions[0].function.name: missing (expected string)",
    );

    const traces = tree(dir, "alpha:traces");
    const [id] = expectArtifact(await readItemIds(traces), "traces");
    const trace = JSON.parse(readFileSync(join(traces, "items", id!, "trace.json"), "utf8"));
    const at = "items/t1.s0/trace.json";
    const bad = async (value: unknown) => failure(await readTrace(outputDir({ [at]: value }), at));
    expect(await bad("{\"version\": 1, \"status\": \"compl")).toMatch(/^items\/t1\.s0\/trace\.json: not JSON \(.+\)$/);
    expect(await bad(edited(trace, ["messages"], undefined))).toBe("items/t1.s0/trace.json: messages: missing (expected array)");
    expect(await bad(edited(trace, ["messages", 1, "content"], 3))).toBe("items/t1.s0/trace.json: messages[1].content: expected string, received number");
    expect(await bad(edited(trace, ["usage", "cost_usd"], "0.01"))).toBe("items/t1.s0/trace.json: usage.cost_usd: expected number, received string");
    // The row's part of a trace leaves out what only the report and the judge read.
    expect(expectArtifact(await readRowTrace(outputDir({ [at]: edited(trace, ["usage"], undefined) }), at), "traces").task.id).toBe(trace.task.id);
    expect(failure(await readRowTrace(outputDir({ [at]: edited(trace, ["status"], "done") }), at))).toBe(
      'items/t1.s0/trace.json: status: expected one of "completed"|"turn_cap"|"contract_violation"|"error"',
    );
    // Three problems at most, then how many more.
    expect(await bad({ version: 1 })).toMatch(/^items\/t1\.s0\/trace\.json: subagent: missing \(expected string\); task: missing \(expected object\); sample: missing \(expected number\) \(and \d+ more\)$/);
  });

  it("give the line of a JSONL file", async () => {
    const lines = (...xs: unknown[]) => xs.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join("\n") + "\n";
    const ok = { id: "t1", prompt: "one" };
    expect(failure(await readTrainTasks(outputDir({ "tasks.jsonl": lines(ok, "", { id: "t3", prompt: 42 }) })))).toBe("tasks.jsonl:3: prompt: expected string, received number");
    expect(failure(await readHeldOutTasks(outputDir({ "heldout.jsonl": lines(ok, '{"id": "t2", "prompt": "tw') })))).toMatch(/^heldout\.jsonl:2: not JSON \(.+\)$/);
    expect(failure(await readTrainTasks(outputDir({ "tasks.jsonl": lines({ prompt: "no id" }) })))).toBe("tasks.jsonl:1: id: missing (expected string)");
    expect(failure(await readTrainTasks(outputDir({ "tasks.jsonl": lines(ok, { id: "t2", prompt: "two", tags: "x" }) })))).toBe("tasks.jsonl:2: tags: expected array, received string");
    // A plugin's task needs only an id and a prompt; its own keys are kept.
    expect(expectArtifact(await readTrainTasks(outputDir({ "tasks.jsonl": lines({ ...ok, kind: "loop" }) })), "tasks")).toEqual([{ ...ok, tags: [], kind: "loop" }]);
    expect(artifactOr(await readHeldOutTasks(outputDir({})), "tasks", [])).toEqual([]);
  });
});

const image: SandboxImage = {
  recipe: "shell",
  id: "sha256:5f1d0c2b9e7a4c3d",
  tag: "sabuild/shell:5f1d0c2b",
  contextDigest: "9e7a4c3d",
  baseImage: "debian:bookworm-slim",
  workdir: "/workspace",
  user: "agent",
  tools: ["Bash", "Read"],
  limits: { memoryBytes: 2 * 1024 ** 3, cpus: 1, pids: 256, network: "none", commandTimeoutMs: 60_000, outputLimitBytes: 30_000 },
};

// As trainer/sft.py writes it: null where it could not measure.
const metrics = {
  model: "Qwen/Qwen3-0.6B",
  steps: 4,
  epochs: 1,
  loss_curve: [
    { step: 2, epoch: 0.5, loss: 2.5, learning_rate: 0.0002, grad_norm: 1.2 },
    { step: 4, epoch: 1, loss: null, learning_rate: 0.0001, grad_norm: null },
  ],
  first_loss: 2.5,
  final_loss: null,
  throughput: { train_runtime_s: 12.5, tokens_per_s: null, wall_s: 14 },
  device: "cpu",
};

const exported = {
  base_model: "Qwen/Qwen3-0.6B",
  gguf_outtype: "f16",
  shipped: "model-Q4_K_M.gguf",
  files: [
    { path: "model-f16.gguf", bytes: 1000 },
    { path: "model-Q4_K_M.gguf", bytes: 400 },
    { path: "fidelity.json", bytes: 20 },
  ],
  fidelity: "pass",
  timings_ms: { convert: 1200, "quantize Q4_K_M": 800 },
};

const summary = { mean: 10, min: 5, max: 15, total: 20 };
const stats: DatasetStats = {
  traces: 3,
  rows: 2,
  tasks: 2,
  splits: { train: { rows: 1, tasks: 1, tokens: summary }, validation: { rows: 1, tasks: 1, tokens: summary } },
  turns: summary,
  tokens: summary,
  tokenizer: { base_model: "Qwen/Qwen3-0.6B" },
  tool_calls: { total: 3, by_tool: { Bash: 3 } },
  tool_errors: 0,
  dropped: { total: 1, by_reason: { unreadable_trace: 1 } },
  verification: { traces: 0, passed: 0, rows: 0 },
  settings: { max_tokens_per_row: 3000, validation: 0.3, judge_threshold: null, max_repeated_tool_calls: 3, keep_reasoning: false, require_verified: false },
};

const evaluated: EvalResult & { notes: string[] } = {
  version: 1,
  subagent: "alpha",
  models: {
    student: {
      role: "student",
      model: { name: "student:model-Q4_K_M.gguf", base_url: "llama-server", role: "student" },
      tasks: 1,
      success_rate: 1,
      failure_modes: {},
      statuses: { completed: 1 },
      turns_mean: 2,
      tool_calls_mean: 1,
      tokens: { prompt: 900, completion: 80, per_task: 980 },
      latency_ms: { mean: 400, p50: 400, p95: 400 },
      cost_per_task_usd: 0,
    },
  },
  ratios: { success_vs_teacher: null },
  targets: [{ name: "success_rate", expected: ">= 0.5", actual: 1, ok: true }],
  gate: { enabled: true, passed: true },
  tasks: [{ id: "h1", prompt: "count the bytes", results: { student: { status: "completed", success: true, trace: "traces/student/h1.json" } } }],
  notes: [],
};

describe("readers of the other stage outputs", () => {
  // Each format: a valid file, then a used field of the wrong type and one left out.
  const cases: { file: string; read: (dir: string) => Promise<ArtifactResult<unknown>>; valid: unknown; wrong: [(string | number)[], unknown, string]; missing: [(string | number)[], string] }[] = [
    { file: "image.json", read: readSandboxImage, valid: image, wrong: [["limits", "network"], "host", 'limits.network: expected one of "none"|"bridge"'], missing: [["workdir"], "workdir: missing (expected string)"] },
    { file: "metrics.json", read: readTrainMetrics, valid: metrics, wrong: [["loss_curve", 1, "loss"], "2.1", "loss_curve[1].loss: expected number, received string"], missing: [["loss_curve", 0, "step"], "loss_curve[0].step: missing (expected number)"] },
    { file: "export.json", read: readExportSummary, valid: exported, wrong: [["files", 1, "bytes"], "400", "files[1].bytes: expected number, received string"], missing: [["shipped"], "shipped: missing (expected string)"] },
    { file: "stats.json", read: readDatasetStats, valid: stats, wrong: [["dropped", "by_reason", "too_long"], "1", "dropped.by_reason.too_long: expected number, received string"], missing: [["splits", "train", "rows"], "splits.train.rows: missing (expected number)"] },
    { file: "eval.json", read: readEvalResult, valid: evaluated, wrong: [["gate", "passed"], "yes", "gate.passed: expected boolean, received string"], missing: [["tasks", 0, "results", "student", "trace"], "tasks[0].results.student.trace: missing (expected string)"] },
  ];

  for (const c of cases) {
    it(`${c.file}: reads a valid file; names the file and field of a bad one`, async () => {
      const read = await c.read(outputDir({ [c.file]: c.valid }));
      expect(read).toEqual({ ok: true, value: c.valid });
      expect(failure(await c.read(outputDir({ [c.file]: "{\n  \"a\": 1,\n" })))).toMatch(new RegExp(`^${c.file.replace(".", "\\.")}: not JSON \\(.+\\)$`));
      expect(failure(await c.read(outputDir({ [c.file]: edited(c.valid, c.wrong[0], c.wrong[1]) })))).toContain(`${c.file}: ${c.wrong[2]}`);
      expect(failure(await c.read(outputDir({ [c.file]: edited(c.valid, c.missing[0], undefined) })))).toBe(`${c.file}: ${c.missing[1]}`);
    });
  }

  it("metrics.json: everything is optional (a plugin's train stage writes {}); adapter/metrics.json where an older trainer put it", async () => {
    expect(expectArtifact(await readTrainMetrics(outputDir({ "metrics.json": {} })), "train")).toEqual({ loss_curve: [] });
    expect(expectArtifact(await readTrainMetrics(outputDir({ "adapter/metrics.json": metrics })), "train")).toEqual(metrics);
    expect(failure(await readTrainMetrics(outputDir({})))).toBe("adapter/metrics.json: no such file");
  });

  it("export.json: eval and serve need only the shipped GGUF and its type; it must lie inside the output", async () => {
    expect(expectArtifact(await readExportSummary(outputDir({ "export.json": { shipped: "none.gguf", gguf_outtype: "f16" } })), "export")).toEqual({ shipped: "none.gguf", gguf_outtype: "f16", files: [] });
    expect(failure(await readExportSummary(outputDir({ "export.json": { ...exported, shipped: "../../model.gguf" } })))).toBe("export.json: shipped: expected a path inside the export output");
  });

  it("fail at a stage boundary with the upstream stage, file and field; an absent file may stand for a default", async () => {
    const read = await readEvalResult(outputDir({ "eval.json": edited(evaluated, ["version"], 2) }));
    expect(() => expectArtifact(read, "eval")).toThrow("the eval stage's output is not what sabuild reads: eval.json: version: expected 1");
    expect(() => artifactOr(read, "eval", undefined)).toThrow("eval.json: version: expected 1");
    expect(artifactOr(await readEvalResult(outputDir({})), "eval", undefined)).toBeUndefined();
  });
});

describe("the report's reading of upstream outputs", () => {
  const context = (upstream: Record<string, string>, log: string[] = []): RunContext =>
    ({
      subagent: { name: "alpha", teacher: {}, eval: { gate: true } },
      upstream: Object.fromEntries(Object.entries(upstream).map(([kind, dir]) => [kind, { dir, digest: kind }])),
      log: (line: string) => log.push(line),
    }) as unknown as RunContext;

  it("leaves out a trace that is not one, with a warning, as the dataset drops it", async () => {
    const built = project({ "dataset-traces.mjs": "fixture:dataset-traces.mjs" });
    expect(sabuild(built, ["build", "alpha:traces"]).code).toBe(0);
    const traces = tree(built, "alpha:traces");
    const [id] = expectArtifact(await readItemIds(traces), "traces");
    const good = JSON.parse(readFileSync(join(traces, "items", id!, "trace.json"), "utf8"));
    const dir = outputDir({ "items/a.s0/trace.json": good, "items/b.s0/trace.json": edited(good, ["timings"], undefined) });
    const log: string[] = [];
    const report = await gatherReport(context({ traces: dir }, log));
    expect(report.stages).toEqual([expect.objectContaining({ kind: "traces", detail: "1 rollouts: 1 completed (time: sum over rollouts)" })]);
    expect(log).toEqual(["warning: left out of the report: items/b.s0/trace.json: timings: missing (expected object)"]);
  });

  it("fails on an upstream file that is there but not its format, and leaves off one that is absent", async () => {
    await expect(gatherReport(context({ train: outputDir({ "metrics.json": edited(metrics, ["loss_curve", 0, "step"], "2") }) }))).rejects.toThrow(
      "the train stage's output is not what sabuild reads: metrics.json: loss_curve[0].step: expected number, received string",
    );
    await expect(gatherReport(context({ eval: outputDir({ "eval.json": evaluated, "traces/student/h1.json": { version: 1 } }) }))).rejects.toThrow(
      /^the eval stage's output is not what sabuild reads: traces\/student\/h1\.json: subagent: missing/,
    );
    const report = await gatherReport(context({ train: outputDir({}), export: outputDir({ "export.json": exported }), dataset: outputDir({ "stats.json": stats }) }));
    expect(report.stages.map((s) => [s.kind, s.detail])).toEqual([
      ["dataset", "2 rows (1 train, 1 validation), 1 dropped (1 unreadable_trace)"],
      ["export", "model-f16.gguf, model-Q4_K_M.gguf; fidelity pass"],
    ]);
  });
});

/**
 * Stands in for the tasks and traces stages as a plugin may: CORRUPT=tasks writes a task whose
 * prompt is a number on line 3 of tasks.jsonl, CORRUPT=trace a trace.json without messages,
 * CORRUPT=usage completed traces (that end without an answer), one without usage (a row needs
 * none, the judge reads it all).
 */
const CORRUPTING_PLUGIN = `import { writeFileSync } from "node:fs";
import { join } from "node:path";
const CORRUPT = process.env.CORRUPT ?? "";
const done = CORRUPT === "usage";
const trace = (id) => ({
  version: 1, subagent: "alpha", task: { id, prompt: "task " + id, tags: [] }, sample: 0,
  model: { name: "teacher", base_url: "http://127.0.0.1:9/v1", role: "teacher" },
  ...(done ? { status: "completed", final_answer: "it is fine" } : { status: "error", error: "teacher request failed: 500" }),
  contract: { tag: "final_answer", ok: done },
  messages: [{ role: "system", content: "You answer." }, { role: "user", content: "task " + id }],
  tools: [], turns: 0, tool_calls: 0, tool_errors: 0,
  usage: { prompt_tokens: 0, completion_tokens: 0, requests: 1, cached_requests: 0, cost_usd: 0 },
  timings: { started_at: "2025-01-01T00:00:00.000Z", duration_ms: 10, model_ms: 10, tool_ms: 0 },
  sandbox: { recipe: "shell", id: "sha256:00", tag: "sabuild/shell:00" },
});
export default () => [
  {
    kind: "tasks", version: "1", deps: [],
    inputs: async () => ({ ok: true, value: { params: { corrupt: CORRUPT }, files: [] } }),
    async run(ctx) {
      const lines = [{ id: "t1", prompt: "one" }, { id: "t2", prompt: "two" }, { id: "t3", prompt: CORRUPT === "tasks" ? 42 : "three" }];
      writeFileSync(join(ctx.outDir, "tasks.jsonl"), lines.map((l) => JSON.stringify(l)).join("\\n") + "\\n");
      writeFileSync(join(ctx.outDir, "heldout.jsonl"), "");
    },
  },
  {
    kind: "traces", version: "1", deps: ["tasks"],
    inputs: async () => ({ ok: true, value: { params: { corrupt: CORRUPT }, files: [] } }),
    map: {
      over: "tasks",
      async open() {
        return {
          items: ["t1", "t2"].map((id) => ({ id: id + ".s0", input: { id } })),
          async runItem(ctx, item) {
            const t = trace(item.input.id);
            if (CORRUPT === "trace" && item.input.id === "t1") delete t.messages;
            if (CORRUPT === "usage" && item.input.id === "t2") delete t.usage;
            writeFileSync(join(ctx.outDir, "trace.json"), JSON.stringify(t));
          },
        };
      },
    },
  },
];
`;

type Built = { stages: { id: string; status: string; error?: string }[] };

describe("a corrupted upstream output, end to end", () => {
  it("fails the stage that reads it with the file, line and field: exit 1, no stack trace", () => {
    const dir = project({ "corrupt.mjs": CORRUPTING_PLUGIN });
    const r = sabuild(dir, ["build", "alpha:dataset", "--json"], { CORRUPT: "tasks" });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as Built;
    expect(out.stages.map((s) => [s.id, s.status])).toEqual(expect.arrayContaining([["alpha:tasks", "built"], ["alpha:traces", "built"], ["alpha:dataset", "failed"]]));
    expect(out.stages.find((s) => s.id === "alpha:dataset")!.error).toBe("the tasks stage's output is not what sabuild reads: tasks.jsonl:3: prompt: expected string, received number");
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at |TypeError|internal error/);
  });

  it("a trace.json without messages is dropped by the dataset as unreadable, with a warning naming the file and field", () => {
    const dir = project({ "corrupt.mjs": CORRUPTING_PLUGIN });
    const r = sabuild(dir, ["build", "alpha:dataset", "--json"], { CORRUPT: "trace" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("alpha:dataset | warning: items/t1.s0/trace.json: messages: missing (expected array)");
    const stats = JSON.parse(readFileSync(join(tree(dir, "alpha:dataset", { CORRUPT: "trace" }), "stats.json"), "utf8")) as DatasetStats;
    expect(stats.dropped.by_reason).toEqual({ unreadable_trace: 1, error: 1 });
  });

  it("with a judge, a trace the judge cannot read whole is dropped as unreadable; the others are judged", () => {
    const dir = project({ "corrupt.mjs": CORRUPTING_PLUGIN }, [
      "    teacher:",
      "      standin: policy.mjs",
      "      model: scripted",
      "    eval:",
      "      judge: { threshold: 0.5 }",
      "    dataset:",
      "      judge_threshold: 0.5",
    ]);
    copyFileSync(join(REPO, "tests/fixtures/standin/rollout-policy.mjs"), join(dir, "policy.mjs"));
    const r = sabuild(dir, ["build", "alpha:dataset", "--json"], { CORRUPT: "usage" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("alpha:dataset | warning: not a whole trace for the judge: items/t2.s0/trace.json: usage: missing (expected object)");
    const out = tree(dir, "alpha:dataset", { CORRUPT: "usage" });
    // The judged trace ends without an answer: it is dropped after judging, so no tokenizer is needed.
    const { dropped } = JSON.parse(readFileSync(join(out, "stats.json"), "utf8")) as DatasetStats;
    expect(dropped.total).toBe(2);
    expect(dropped.by_reason.unreadable_trace).toBe(1);
    expect(JSON.parse(readFileSync(join(out, "judge", "t1.s0.json"), "utf8"))).toHaveProperty("score");
    expect(existsSync(join(out, "judge", "t2.s0.json"))).toBe(false);
  });
});
