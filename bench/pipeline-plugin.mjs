// The stage plugin of the no-op benchmark: stand-ins for the seven pipeline kinds that sabuild
// does not build in yet, wired with the real pipeline's dependencies and writing artifacts of
// realistic size (an adapter and a GGUF per subagent), so the store holds what a real project's
// would. Sizes come from bench.json at the project root, listed as an input file, so changing
// them makes train and export stale like any other input.
//
// As sabuild's own stages do, this plugin loads what only running needs when a stage runs:
// node:crypto is taken at the first hash, so that a no-op build, which runs nothing, does not
// load it (a plugin that imports it at the top costs every command ~10 ms).
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const MiB = 1 << 20;
const SIZES_FILE = "bench.json";

let noise;

/** node:crypto, loaded at first use (see the top of this file). */
function crypto() {
  return process.getBuiltinModule("node:crypto");
}

/**
 * Writes `mib` MiB that differ per label, fast: one random MiB per process whose first 32 bytes
 * are replaced by a hash of (label, chunk) before each write, so no two chunks and no two
 * subagents' files are equal and the store's dedup cannot shrink them.
 */
function writeNoise(path, mib, label) {
  noise ??= crypto().randomBytes(MiB);
  const fd = openSync(path, "w");
  try {
    for (let i = 0; i < mib; i++) {
      crypto().createHash("sha256").update(`${label}:${i}`).digest().copy(noise, 0);
      writeSync(fd, noise);
    }
  } finally {
    closeSync(fd);
  }
}

function readJsonl(path) {
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

function writeJsonl(path, rows) {
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""));
}

function sizes(ctx) {
  return JSON.parse(readFileSync(join(ctx.project.root, SIZES_FILE), "utf8"));
}

// A stage that reads ctx.subagent must put what it reads in its params: keys do not include the
// subagent, so two subagents with equal inputs share one result (that is the point of the store).
const noInputs = async () => ({ ok: true, value: { params: {}, files: [] } });
const named = async ({ subagent }) => ({ ok: true, value: { params: { name: subagent.name }, files: [] } });
const namedWithSizes = async ({ subagent }) => ({ ok: true, value: { params: { name: subagent.name }, files: [SIZES_FILE] } });

export default () => [
  {
    kind: "sandbox",
    version: "1",
    deps: ["import"],
    inputs: async ({ subagent }) => ({ ok: true, value: { params: { recipe: subagent.sandbox.recipe, image: subagent.sandbox.base_image }, files: [] } }),
    async run(ctx) {
      const spec = JSON.parse(readFileSync(join(ctx.upstream.import.dir, "spec.json"), "utf8"));
      const image = `sha256:${crypto().createHash("sha256").update(`image:${spec.name}`).digest("hex")}`;
      writeFileSync(join(ctx.outDir, "sandbox.json"), `${JSON.stringify({ recipe: ctx.subagent.sandbox.recipe, image, tools: spec.tools }, null, 2)}\n`);
    },
  },
  {
    kind: "traces",
    version: "1",
    deps: ["tasks", "sandbox"],
    inputs: async ({ subagent }) => ({ ok: true, value: { params: { samples: subagent.traces.samples_per_task }, files: [] } }),
    async run(ctx) {
      const tasks = readJsonl(join(ctx.upstream.tasks.dir, "tasks.jsonl"));
      const traces = tasks.map((t) => ({
        id: t.id,
        messages: [
          { role: "user", content: t.prompt },
          { role: "assistant", content: `<final_answer>${t.prompt.toUpperCase()}</final_answer>` },
        ],
      }));
      writeJsonl(join(ctx.outDir, "traces.jsonl"), traces);
    },
  },
  {
    kind: "dataset",
    version: "1",
    deps: ["traces"],
    inputs: noInputs,
    async run(ctx) {
      const rows = readJsonl(join(ctx.upstream.traces.dir, "traces.jsonl")).map((t) => ({ messages: t.messages }));
      const cut = Math.max(1, Math.floor(rows.length * 0.95));
      writeJsonl(join(ctx.outDir, "train.jsonl"), rows.slice(0, cut));
      writeJsonl(join(ctx.outDir, "validation.jsonl"), rows.slice(cut));
    },
  },
  {
    kind: "train",
    version: "1",
    deps: ["dataset"],
    inputs: namedWithSizes,
    async run(ctx) {
      const dir = join(ctx.outDir, "adapter");
      mkdirSync(dir);
      writeNoise(join(dir, "adapter_model.safetensors"), sizes(ctx).adapter_mib, `adapter:${ctx.subagent.name}`);
      writeFileSync(join(dir, "adapter_config.json"), `${JSON.stringify({ r: 16, lora_alpha: 32, target_modules: "all-linear" }, null, 2)}\n`);
    },
  },
  {
    kind: "export",
    version: "1",
    deps: ["train"],
    inputs: namedWithSizes,
    async run(ctx) {
      const adapter = statSync(join(ctx.upstream.train.dir, "adapter", "adapter_model.safetensors"));
      writeNoise(join(ctx.outDir, "model.Q4_K_M.gguf"), sizes(ctx).gguf_mib, `gguf:${ctx.subagent.name}`);
      writeFileSync(join(ctx.outDir, "Modelfile"), `FROM ./model.Q4_K_M.gguf\n# adapter: ${adapter.size} bytes\n`);
    },
  },
  {
    kind: "eval",
    version: "1",
    deps: ["export", "tasks"],
    inputs: noInputs,
    async run(ctx) {
      const heldout = readJsonl(join(ctx.upstream.tasks.dir, "heldout.jsonl"));
      const model = statSync(join(ctx.upstream.export.dir, "model.Q4_K_M.gguf"));
      const results = heldout.map((t) => ({ id: t.id, pass: parseInt(crypto().createHash("sha256").update(t.prompt).digest("hex").slice(0, 2), 16) < 200 }));
      const passed = results.filter((r) => r.pass).length;
      writeFileSync(join(ctx.outDir, "eval.json"), `${JSON.stringify({ model_bytes: model.size, passed, total: results.length, results }, null, 2)}\n`);
    },
  },
  {
    kind: "report",
    version: "1",
    deps: ["eval"],
    inputs: named,
    async run(ctx) {
      const ev = JSON.parse(readFileSync(join(ctx.upstream.eval.dir, "eval.json"), "utf8"));
      writeFileSync(join(ctx.outDir, "report.md"), `# ${ctx.subagent.name}\n\n${ev.passed}/${ev.total} held-out tasks passed.\n`);
    },
  },
];
