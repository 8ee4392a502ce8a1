import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Problem } from "../errors.js";
import { nameHash } from "../store/name-hash.js";
import type { Result } from "../result.js";
import { ok } from "../result.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { ProjectConfig } from "./load.js";

interface CacheEntry {
  file: string;
  stat: [number, number, number, number];
  loader: number;
  config: ProjectConfig;
}

/**
 * Loads subagents.yaml, reusing the resolved config of an earlier run while the file is
 * unchanged (same inode, size, mtime, ctime) and sabuild's loader is the same build. Parsing
 * and validating cost YAML + zod (~150 ms of startup), which a no-op `plan` or `build` skips.
 * The resolved config holds `${VAR}` templates, never their values, so the cache holds no secret.
 */
export async function loadConfigCached(file: string): Promise<Result<ProjectConfig, Problem[]>> {
  const st = statSync(file, { throwIfNoEntry: false });
  // By a path that also holds from dist/cli-bundle/ (scripts/bundle-cli.mjs), a folder of dist/ as this one is.
  const loaderStat = statSync(fileURLToPath(new URL("../config/load.js", import.meta.url)), { throwIfNoEntry: false });
  const cachePath = join(tmpdir(), `sabuild-${process.getuid?.() ?? "user"}`, `config-${nameHash(file)}.json`);
  const stamp: CacheEntry["stat"] | undefined = st ? [st.ino, st.size, st.mtimeMs, st.ctimeMs] : undefined;
  const loader = loaderStat?.mtimeMs ?? 0;
  if (stamp) {
    try {
      const entry = JSON.parse(readFileSync(cachePath, "utf8")) as CacheEntry;
      if (entry.file === file && entry.loader === loader && entry.stat.every((v, i) => v === stamp[i])) return ok(entry.config);
    } catch {
      // No entry yet, or an unreadable one: load for real.
    }
  }
  const { loadConfig } = await import("./load.js");
  const loaded = await loadConfig(file);
  if (loaded.ok && stamp) {
    const entry: CacheEntry = { file, stat: stamp, loader, config: loaded.value };
    await writeFileAtomic(cachePath, JSON.stringify(entry)).catch(() => undefined);
    pruneOldEntries(dirname(cachePath));
  }
  return loaded;
}

/** One entry per config file ever loaded: keep the most recent ones only. */
function pruneOldEntries(dir: string, keep = 200): void {
  try {
    const names = readdirSync(dir).filter((n) => n.startsWith("config-"));
    if (names.length <= keep) return;
    const byAge = names.map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs })).sort((a, b) => b.t - a.t);
    for (const { n } of byAge.slice(keep)) rmSync(join(dir, n), { force: true });
  } catch {
    // Another process pruned first; nothing to do.
  }
}
