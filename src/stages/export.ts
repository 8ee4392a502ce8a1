import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { Problem } from "../errors.js";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { err, ok, type Result } from "../result.js";
import { trainerEnv, trainerPython } from "../toolchain/dirs.js";
import type { LlamaTools } from "../toolchain/llamacpp.js";
import { lastJsonLine, runChecked } from "../toolchain/process.js";
import { helperPythonIdentity } from "../toolchain/venv-identity.js";
import { EXPORT_MODULES, trainerCodeDigest } from "../toolchain/venv.js";
import { configName } from "./config-name.js";
import { compareWithServer, describeFailure, pickRow, renderWithHf, type FidelityReport } from "./export-fidelity.js";
import { modelfile } from "./export-modelfile.js";
import type { RunContext, Stage } from "./types.js";

/**
 * The student as files people run: the LoRA merged into the base (merged/, Hugging Face format),
 * a GGUF of it (export.gguf_outtype), one GGUF per export.quantizations entry, the adapter alone
 * as a LoRA GGUF (llama.cpp's convert_lora_to_gguf.py when configured, else trainer.lora_gguf),
 * an Ollama Modelfile, and
 * fidelity.json: whether llama.cpp renders and tokenizes a held-out conversation exactly as
 * training did.
 */

type Log = (line: string) => void;

/** A local base model directory (relative to the project, or absolute), or undefined for a hub id. */
export function localModelDir(root: string, baseModel: string): string | undefined {
  const p = isAbsolute(baseModel) ? baseModel : resolve(root, baseModel);
  try {
    return statSync(p).isDirectory() ? p : undefined;
  } catch {
    return undefined;
  }
}

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Where the train stage left the PEFT adapter: adapter/ inside its output, or the output itself. */
export function adapterDir(trainDir: string): string {
  const nested = join(trainDir, "adapter");
  return existsSync(join(nested, "adapter_config.json")) ? nested : trainDir;
}

export async function mergeAdapter(python: string, base: string, adapter: string, out: string, opts: { signal?: AbortSignal; log?: Log }): Promise<void> {
  await runChecked("merging the LoRA adapter (python -m trainer.merge)", python, ["-m", "trainer.merge", "--base", base, "--adapter", adapter, "--out", out], {
    env: trainerEnv(),
    ...opts,
  });
}

/** trainer.lora_gguf's exit status for an adapter that has no LoRA GGUF form (an unsupported architecture). */
const NO_LORA_GGUF = 3;

/**
 * sabuild's own LoRA GGUF writer (python -m trainer.lora_gguf), for when no llama.cpp checkout
 * provides convert_lora_to_gguf.py: it runs with the converter's gguf-py, so the file matches
 * the llama.cpp the model GGUF was made for. An adapter it cannot write gives `skipped`, with why.
 */
export async function writeLoraGguf(python: string, tools: LlamaTools, args: string[], opts: { signal?: AbortSignal; log?: Log }): Promise<{ skipped?: string }> {
  const env = trainerEnv();
  const gguf = tools.convert.env.PYTHONPATH ?? (existsSync(join(dirname(tools.convert.script), "gguf-py")) ? join(dirname(tools.convert.script), "gguf-py") : undefined);
  if (gguf) env.PYTHONPATH = `${env.PYTHONPATH}${delimiter}${gguf}`;
  const r = await runChecked("writing the LoRA GGUF (python -m trainer.lora_gguf)", python, ["-m", "trainer.lora_gguf", ...args], { env, ...opts, acceptExitCodes: [NO_LORA_GGUF] });
  if (r.code !== NO_LORA_GGUF) return {};
  const line = r.tail.split("\n").find((l) => l.startsWith("error: "));
  return { skipped: line ? line.slice("error: ".length) : r.tail.trim() };
}

export async function convertToGguf(tools: LlamaTools, mergedDir: string, outFile: string, outtype: string, opts: { signal?: AbortSignal; log?: Log }): Promise<void> {
  await tools.convert.run([mergedDir, "--outfile", outFile, "--outtype", outtype], opts);
}

export async function quantizeGguf(tools: LlamaTools, input: string, output: string, type: string, dir: string, opts: { signal?: AbortSignal; log?: Log }): Promise<void> {
  await tools.quantize.run([input, output, type], { dirs: [dir], ...opts });
}

/** Renders `row` both ways and asks llama-server (serving `gguf`) for a completion with tools. */
export async function checkFidelity(
  tools: LlamaTools,
  python: string,
  mergedDir: string,
  gguf: string,
  picked: NonNullable<ReturnType<typeof pickRow>>,
  workDir: string,
  opts: { signal?: AbortSignal; log?: Log },
): Promise<FidelityReport> {
  const hf = await renderWithHf(python, mergedDir, picked.row, workDir, opts);
  const server = await tools.server.start({ model: gguf, ...opts });
  try {
    const result = await compareWithServer(server, hf, picked.row.tools ?? [], opts.signal);
    return {
      ...result,
      row: { file: picked.file, index: picked.index, messages: hf.messages.length, tools: (picked.row.tools ?? []).length },
      gguf: gguf.split("/").pop()!,
    };
  } finally {
    await server.stop();
  }
}

function chatTemplateOf(mergedDir: string): string | undefined {
  const jinja = join(mergedDir, "chat_template.jinja");
  if (existsSync(jinja)) return readFileSync(jinja, "utf8");
  const config = JSON.parse(readFileSync(join(mergedDir, "tokenizer_config.json"), "utf8")) as { chat_template?: unknown };
  return typeof config.chat_template === "string" ? config.chat_template : undefined;
}

function stopTokensOf(mergedDir: string): string[] {
  const config = JSON.parse(readFileSync(join(mergedDir, "tokenizer_config.json"), "utf8")) as { eos_token?: unknown };
  const eos = typeof config.eos_token === "string" ? config.eos_token : (config.eos_token as { content?: string } | undefined)?.content;
  return eos ? [eos] : [];
}

function fileSize(path: string): number {
  return statSync(path).size;
}

/** Every file of a local base model directory, relative to the project (none for a hub id). */
export function localModelFiles(root: string, local: string | undefined): string[] {
  return local ? listFiles(local).map((f) => relative(root, join(local, f))) : [];
}

/**
 * The identities of the llama.cpp tools export.tools names (binary digests, image ids, managed
 * package versions), or the problem at the tool's key: export and eval both run them.
 */
export async function llamaToolchain(project: ProjectConfig, subagent: ResolvedSubagent): Promise<Result<Record<string, string>, Problem[]>> {
  const { llamaToolsIdentity, LlamaToolsError } = await import("../toolchain/llamacpp.js");
  try {
    return ok(await llamaToolsIdentity(project.root, subagent.export.tools));
  } catch (error) {
    if (!(error instanceof LlamaToolsError)) throw error;
    const problem: Problem = {
      file: configName(project),
      line: 0,
      column: 0,
      keyPath: ["subagents", subagent.name, "export", "tools", ...(error.tool ? [error.tool] : [])],
      message: error.message.split("\n")[0]!,
      hint: error.hint,
    };
    return err([problem]);
  }
}

/** The identity of the Python that merges, writes the LoRA GGUF and checks fidelity, without creating a venv. */
function helperPython(project: ProjectConfig, subagent: ResolvedSubagent): Result<Record<string, string>, Problem[]> {
  const identity = helperPythonIdentity(project.root);
  if (identity.ok) return identity;
  const [message, ...hint] = identity.error.split("\n  hint: ");
  const problem: Problem = {
    file: configName(project),
    line: 0,
    column: 0,
    keyPath: ["subagents", subagent.name, "export"],
    message: `cannot set up the trainer's Python: ${message}`,
    ...(hint.length ? { hint: hint.join(" ") } : {}),
  };
  return err([problem]);
}

export function exportStage(): Stage {
  return {
    kind: "export",
    version: "1",
    deps: ["dataset", "train"],
    async inputs({ project, subagent }) {
      const e = subagent.export;
      const base = subagent.train.base_model;
      const local = localModelDir(project.root, base);
      const tools = await llamaToolchain(project, subagent);
      if (!tools.ok) return tools;
      const python = helperPython(project, subagent);
      if (!python.ok) return python;
      return ok({
        params: {
          // What is merged and converted; a local directory by its path (its files are keyed below).
          base_model: local ? relative(project.root, local) || "." : base,
          // The converted GGUF's type, the quantizations made of it, and which extra files are written.
          gguf_outtype: e.gguf_outtype,
          quantizations: e.quantizations,
          lora_gguf: e.lora_gguf,
          ollama: e.ollama,
          // Whether a failed fidelity check fails the stage (an output that errors is not stored).
          fidelity: e.fidelity,
        },
        files: localModelFiles(project.root, local),
        // llama.cpp's converter, quantizer and server (export.tools), sabuild's Python modules run
        // here, and the Python they run on (torch, transformers and peft merge and render).
        toolchain: { ...tools.value, ...python.value, "trainer/export": trainerCodeDigest(EXPORT_MODULES) },
      });
    },
    run: runExport,
  };
}

async function runExport(ctx: RunContext): Promise<void> {
  const e = ctx.subagent.export;
  const train = ctx.upstream.train;
  if (!train) throw new Error("export needs the train stage's output");
  const { ensureLlamaTools } = await import("../toolchain/llamacpp.js");
  const log: Log = (line) => ctx.log(line);
  const opts = { signal: ctx.signal, log };
  const python = trainerPython(ctx.project.root);
  const base = localModelDir(ctx.project.root, ctx.subagent.train.base_model) ?? ctx.subagent.train.base_model;
  const quants = e.quantizations.filter((q) => q.toLowerCase() !== e.gguf_outtype);
  const steps = 3 + quants.length + (e.lora_gguf ? 1 : 0) + 1;
  let done = 0;
  const step = (what: string): void => {
    ctx.log(`[${done + 1}/${steps}] ${what}`);
    ctx.progress({ done: done++, total: steps });
  };
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[name] = Date.now() - t0;
    }
  };

  step("llama.cpp tools");
  const tools = await timed("tools", () => ensureLlamaTools(ctx.project.root, e.tools, { ...opts, python }));
  const adapter = adapterDir(train.dir);
  const merged = join(ctx.outDir, "merged");
  step(`merging the adapter into ${ctx.subagent.train.base_model}`);
  await timed("merge", () => mergeAdapter(python, base, adapter, merged, opts));

  const baseGguf = `model-${e.gguf_outtype}.gguf`;
  step(`converting to ${baseGguf} (${tools.convert.where})`);
  await timed("convert", () => convertToGguf(tools, merged, join(ctx.outDir, baseGguf), e.gguf_outtype, opts));

  const ggufs = [baseGguf];
  for (const q of quants) {
    const name = `model-${q}.gguf`;
    step(`quantizing to ${q} (${tools.quantize.where})`);
    await timed(`quantize ${q}`, () => quantizeGguf(tools, join(ctx.outDir, baseGguf), join(ctx.outDir, name), q, ctx.outDir, opts));
    ggufs.push(name);
  }

  let lora: { file?: string; skipped?: string } | undefined;
  if (e.lora_gguf) {
    step("the adapter as a LoRA GGUF");
    // Both converters know f32, f16, bf16 and q8_0, like the model converter.
    const name = `adapter-${e.gguf_outtype}.gguf`;
    const args = ["--base", merged, "--outfile", join(ctx.outDir, name), "--outtype", e.gguf_outtype];
    const convertLora = tools.convertLora;
    if (convertLora) {
      await timed("convert lora", () => convertLora.run([adapter, ...args], opts));
      lora = { file: name };
    } else {
      const r = await timed("convert lora", () => writeLoraGguf(python, tools, ["--adapter", adapter, ...args], opts));
      lora = r.skipped ? { skipped: r.skipped } : { file: name };
      if (r.skipped) ctx.log(`LoRA GGUF skipped: ${r.skipped}`);
    }
  }

  // What people run: the first quantization asked for, else the converted GGUF itself.
  const shipped = quants[0] ? `model-${quants[0]}.gguf` : baseGguf;
  if (e.ollama) {
    await writeFile(join(ctx.outDir, "Modelfile"), modelfile({ gguf: shipped, chatTemplate: chatTemplateOf(merged), stopTokens: stopTokensOf(merged) }));
  }

  step(`fidelity check on ${shipped} (${tools.server.where})`);
  const picked = pickRow(ctx.upstream.dataset?.dir);
  const work = await mkdtemp(join(tmpdir(), "sabuild-fidelity-"));
  let fidelity: FidelityReport;
  try {
    fidelity = picked
      ? await timed("fidelity", () => checkFidelity(tools, python, merged, join(ctx.outDir, shipped), picked, work, opts))
      : { status: "skipped", reason: "the dataset stage wrote no rows (validation.jsonl, train.jsonl)" };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await writeFile(join(ctx.outDir, "fidelity.json"), `${JSON.stringify(fidelity, null, 2)}\n`);
  ctx.log(`fidelity: ${fidelity.status}${fidelity.status === "fail" ? `: ${describeFailure(fidelity)}` : ""}`);

  const files = [...ggufs, ...(lora?.file ? [lora.file] : []), ...(e.ollama ? ["Modelfile"] : []), "fidelity.json"].map((path) => ({ path, bytes: fileSize(join(ctx.outDir, path)) }));
  const summary = {
    base_model: ctx.subagent.train.base_model,
    gguf_outtype: e.gguf_outtype,
    shipped,
    files,
    merged: { path: "merged", bytes: listFiles(merged).reduce((n, f) => n + fileSize(join(merged, f)), 0) },
    lora_gguf: lora ?? { skipped: "export.lora_gguf is false" },
    fidelity: fidelity.status,
    tools: {
      convert: tools.convert.where,
      convert_lora: tools.convertLora ? tools.convertLora.where : "trainer.lora_gguf (built in)",
      quantize: tools.quantize.where,
      server: tools.server.where,
    },
    identity: tools.identity,
    timings_ms: timings,
  };
  await writeFile(join(ctx.outDir, "export.json"), `${JSON.stringify(summary, null, 2)}\n`);
  ctx.progress({ done: steps, total: steps });
  if (fidelity.status === "fail" && e.fidelity === "error") {
    throw new Error(
      `fidelity check failed: ${describeFailure(fidelity)}. The GGUF's chat template or tokenizer does not reproduce what training saw; ` +
        "check the chat template in the base model or the adapter directory, or set export.fidelity: warn to keep the artifacts anyway",
    );
  }
}
