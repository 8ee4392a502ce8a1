import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { venvDir } from "./venv.js";

/** The installed sabuild package (dist/toolchain/ -> ../..): it holds trainer/. */
export const PACKAGE_ROOT = join(import.meta.dirname, "..", "..");

/**
 * Tools shared by every project of this user (the llama.cpp converter, ~10 MB): downloaded once
 * per machine, not once per project. SABUILD_CACHE_DIR moves it.
 */
export function userCacheDir(): string {
  if (process.env.SABUILD_CACHE_DIR) return process.env.SABUILD_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith("/") ? xdg : join(homedir(), ".cache"), "sabuild");
}

/**
 * The Python that runs the trainer helpers (merge, fidelity, the GGUF converter): it needs torch,
 * transformers, peft, numpy and sentencepiece. SABUILD_PYTHON wins; then the project-managed
 * venv; then python3 on PATH.
 */
export function trainerPython(projectRoot: string): string {
  if (process.env.SABUILD_PYTHON) return process.env.SABUILD_PYTHON;
  const venv = join(venvDir(projectRoot), "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

/** Environment for `python -m trainer.<module>`: the package root on PYTHONPATH. */
export function trainerEnv(): Record<string, string> {
  const existing = process.env.PYTHONPATH;
  return { PYTHONPATH: existing ? `${PACKAGE_ROOT}:${existing}` : PACKAGE_ROOT, PYTHONUNBUFFERED: "1" };
}
