import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareSandboxImages } from "./support/docker.js";

/**
 * Tests drive the compiled CLI, as users do: compile and bundle it once before any test file runs. Then
 * the things many test files share: the sandbox images and the trainer's Python environment.
 */
export default async function setup(): Promise<void> {
  const root = join(import.meta.dirname, "..");
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
  execFileSync(process.execPath, [join(root, "scripts/bundle-cli.mjs")], { stdio: "inherit" });
  writeFileSync(join(root, "dist/.build-stamp"), "");
  await prepareSandboxImages();
  const { ensureVenv } = (await import(join(root, "dist/toolchain/venv.js"))) as typeof import("../src/toolchain/venv.js");
  const dir = process.env.SABUILD_VENV ?? join(tmpdir(), "sabuild-test-trainer-venv");
  await ensureVenv({ dir, onProgress: (line) => process.stderr.write(`[trainer venv] ${line}\n`) });
}
