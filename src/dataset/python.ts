import { nodeCrypto } from "../builtin.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureVenv, PACKAGE_ROOT, venvDir, type Venv } from "../toolchain/venv.js";

/** The script that counts tokens: its digest joins the dataset's key, so editing it re-counts. */
export const STATS_SCRIPT = join(PACKAGE_ROOT, "trainer", "dataset_stats.py");

/** The trainer's venv (the one the local train runner uses: <project>/.sabuild/venv or $SABUILD_VENV), created on first use. */
export function statsPython(root: string, onProgress?: (line: string) => void, signal?: AbortSignal): Promise<Venv> {
  return ensureVenv({ dir: venvDir(root), ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) });
}

/**
 * Only the counting script's code joins the key, not the venv's versions: reading those would
 * mean creating the venv to plan a dataset, and a dataset with no rows to count needs no Python.
 */
export function statsToolchain(): Record<string, string> {
  return { "dataset.stats_code": nodeCrypto().createHash("sha256").update(readFileSync(STATS_SCRIPT)).digest("hex") };
}

export function statsEnv(): NodeJS.ProcessEnv {
  // PYTHONSAFEPATH keeps a project's own trainer/ directory off sys.path.
  return { ...process.env, PYTHONPATH: PACKAGE_ROOT, PYTHONSAFEPATH: "1", PYTHONUNBUFFERED: "1", TOKENIZERS_PARALLELISM: "false" };
}
