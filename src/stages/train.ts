import type { ResolvedSubagent } from "../config/index.js";
import { createWriteStream, existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Problem } from "../errors.js";
import type { Json } from "../engine/key.js";
import { err, ok, type Result } from "../result.js";
import { describeEvent, runLocal, type TrainerEvent, type TrainerSink } from "../toolchain/trainer-process.js";
import { trainerVenvIdentity } from "../toolchain/venv-identity.js";
import { ensureVenv, PACKAGE_ROOT, trainerCodeDigest, venvDir } from "../toolchain/venv.js";
import { configName } from "./config-name.js";
import type { InputContext, RunContext, Stage } from "./types.js";

/**
 * LoRA SFT of the base model on the dataset stage's rows (`python -m trainer.sft`).
 *
 *   upstream dataset/  train.jsonl, validation.jsonl (optional)
 *   output            adapter/   PEFT adapter (adapter_model.safetensors, adapter_config.json) + tokenizer
 *                     metrics.json, train.log
 */

/** A Hugging Face id, or a local directory (hashed into the key file by file). */
export type BaseModel = { kind: "hub"; id: string } | { kind: "local"; dir: string; rel: string; files: string[] };

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;

async function listFiles(dir: string, root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path, root)));
    else if (entry.isFile()) out.push(relative(root, path).split(sep).join("/"));
  }
  return out.sort();
}

/** A path that exists as a directory (relative to the project) is local; otherwise a hub id. */
export async function resolveBaseModel(root: string, spec: string): Promise<Result<BaseModel, string>> {
  const dir = resolve(root, spec);
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    const files = await listFiles(dir, root);
    if (!files.some((f) => f.endsWith("config.json"))) return err(`${spec} is a directory without config.json: not a Hugging Face model`);
    return ok({ kind: "local", dir, rel: relative(root, dir).split(sep).join("/") || ".", files });
  }
  const looksLikePath = isAbsolute(spec) || spec.startsWith(".") || spec.startsWith("~");
  if (looksLikePath || !HUB_ID.test(spec)) return err(`base model directory ${spec} not found`);
  return ok({ kind: "hub", id: spec });
}

function problem(ctx: InputContext, key: string[], message: string, hint?: string): Problem {
  return { file: configName(ctx.project), line: 0, column: 0, keyPath: ["subagents", ctx.subagent.name, "train", ...key], message, ...(hint ? { hint } : {}) };
}

/**
 * Runner identity for the key: the image's id, or the venv's (its pins and interpreter, or what
 * a user's own venv has installed), found without creating the venv: `build` makes it in run().
 */
async function toolchain(ctx: InputContext): Promise<Result<Record<string, string>, Problem[]>> {
  const t = ctx.subagent.train;
  const code = trainerCodeDigest();
  if (t.runner === "docker") {
    if (!t.image) return err([problem(ctx, ["image"], "train.image is required with runner: docker", "an image with python3 and the packages of trainer/requirements.txt")]);
    const { trainerImageId } = await import("./train-docker.js");
    const id = await trainerImageId(t.image);
    if (!id.ok) return err([problem(ctx, ["image"], id.error.message, id.error.hint)]);
    return ok({ "trainer.runner": "docker", "trainer.image": `${t.image}@${id.value}`, "trainer.code": code });
  }
  const venv = trainerVenvIdentity(venvDir(ctx.project.root));
  if (!venv.ok) {
    const [message, ...hint] = venv.error.split("\n  hint: ");
    return err([problem(ctx, ["runner"], `cannot set up the trainer's Python: ${message}`, hint.join(" ") || undefined)]);
  }
  return ok({ "trainer.runner": "local", ...venv.value, "trainer.code": code });
}

export interface TrainCfg {
  model: string;
  train_file: string;
  validation_file?: string;
  output_dir: string;
  metrics_file: string;
  lora: { r: number; alpha: number; dropout: number; target_modules: string | string[] };
  epochs: number;
  learning_rate: number;
  batch_size: number;
  grad_accum: number;
  max_length: number;
  packing: boolean;
  tokens_per_step: number | null;
  seed: number;
  gradient_checkpointing: boolean | null;
}

/** cfg.json for trainer.sft; paths as the trainer sees them (host or container). */
export function trainCfg(t: RunContext["subagent"]["train"], paths: { model: string; dataset: string; out: string; validation: boolean }): TrainCfg {
  return {
    model: paths.model,
    train_file: `${paths.dataset}/train.jsonl`,
    ...(paths.validation ? { validation_file: `${paths.dataset}/validation.jsonl` } : {}),
    output_dir: `${paths.out}/adapter`,
    metrics_file: `${paths.out}/metrics.json`,
    ...hyperparameters(t),
  };
}

/** The training settings the trainer reads: the same in cfg.json and in the stage's key. */
function hyperparameters(t: ResolvedSubagent["train"]) {
  return {
    lora: { r: t.lora.r, alpha: t.lora.alpha, dropout: t.lora.dropout, target_modules: t.lora.target_modules },
    epochs: t.epochs,
    learning_rate: t.learning_rate,
    batch_size: t.batch_size,
    grad_accum: t.grad_accum,
    max_length: t.max_length,
    packing: t.packing,
    // null: the trainer's own choice (batch_size; checkpointing on with CUDA only).
    tokens_per_step: t.tokens_per_step ?? null,
    seed: t.seed,
    gradient_checkpointing: t.gradient_checkpointing ?? null,
  };
}

export function trainStage(): Stage {
  return {
    kind: "train",
    version: "1",
    deps: ["dataset"],
    async inputs(ctx) {
      const t = ctx.subagent.train;
      const base = await resolveBaseModel(ctx.project.root, t.base_model);
      if (!base.ok) return err([problem(ctx, ["base_model"], base.error, "a Hugging Face model id (org/name) or a model directory relative to the project")]);
      const tools = await toolchain(ctx);
      if (!tools.ok) return tools;
      const params: Json = {
        // What is fine-tuned: a hub id, or a local directory (its files are keyed below).
        base_model: t.base_model,
        // The venv or the container (the toolchain holds their identity).
        runner: t.runner,
        // Everything cfg.json hands the trainer.
        ...hyperparameters(t),
      };
      return ok({ params, files: base.value.kind === "local" ? base.value.files : [], toolchain: tools.value });
    },
    async run(ctx) {
      const dataset = ctx.upstream.dataset;
      if (!dataset) throw new Error("the train stage needs the dataset stage's output");
      if (!existsSync(join(dataset.dir, "train.jsonl"))) throw new Error(`the dataset stage wrote no train.jsonl (in ${dataset.dir})`);
      const validation = existsSync(join(dataset.dir, "validation.jsonl")) && statSync(join(dataset.dir, "validation.jsonl")).size > 0;
      const t = ctx.subagent.train;
      const base = await resolveBaseModel(ctx.project.root, t.base_model);
      if (!base.ok) throw new Error(base.error);
      await mkdir(join(ctx.outDir, "adapter"), { recursive: true });
      const cfgDir = await mkdtemp(join(tmpdir(), "sabuild-train-"));
      const log = createWriteStream(join(ctx.outDir, "train.log"));
      const failure: string[] = [];
      const sink: TrainerSink = {
        line(stream, text) {
          log.write(`${text}\n`);
          if (stream === "stderr" && text.trim()) {
            ctx.log(text);
            failure.push(text);
            if (failure.length > 20) failure.shift();
          }
        },
        event(e: TrainerEvent) {
          if (e.event === "progress") ctx.progress({ done: e.step, total: e.total });
          if (e.event === "error") failure.push(e.message);
          ctx.log(describeEvent(e));
        },
      };
      try {
        let code: number;
        if (t.runner === "docker") {
          const { runTrainerContainer } = await import("./train-docker.js");
          code = await runTrainerContainer(ctx, { base: base.value, cfgDir, validation, sink });
        } else {
          const venv = await ensureVenv({ dir: venvDir(ctx.project.root), onProgress: ctx.log, signal: ctx.signal });
          const model = base.value.kind === "local" ? base.value.rel : base.value.id;
          const cfg = trainCfg(t, { model, dataset: dataset.dir, out: ctx.outDir, validation });
          await writeFile(join(cfgDir, "cfg.json"), `${JSON.stringify(cfg, null, 2)}\n`);
          const { trainerLaunch } = await import("../toolchain/launch.js");
          const launch = trainerLaunch(venv.python, ["-m", "trainer.sft", "--config", join(cfgDir, "cfg.json")], process.env);
          if (launch.processes > 1) ctx.log(`data-parallel over ${launch.processes} processes: ${launch.command} ${launch.args.join(" ")}`);
          code = await runLocal({
            python: launch.command,
            args: launch.args,
            // The project is the working directory, so a local base model keeps its project-relative
            // path in adapter_config.json; PYTHONSAFEPATH keeps a project's own trainer/ off sys.path.
            cwd: ctx.project.root,
            env: { ...process.env, PYTHONPATH: PACKAGE_ROOT, PYTHONSAFEPATH: "1", PYTHONUNBUFFERED: "1" },
            signal: ctx.signal,
            sink,
          });
        }
        await new Promise<void>((r) => log.end(r));
        if (code !== 0) throw new Error(`training failed (exit ${code}): ${failure.at(-1) ?? "the trainer printed nothing"}`);
        if (!existsSync(join(ctx.outDir, "adapter", "adapter_model.safetensors"))) throw new Error("the trainer finished without writing adapter/adapter_model.safetensors");
      } finally {
        if (!log.closed) log.end();
        await rm(cfgDir, { recursive: true, force: true });
      }
    },
  };
}
