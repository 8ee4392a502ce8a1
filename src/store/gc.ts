import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ResponseCache } from "../llm/cache.js";
import { McpRecords } from "../tools/mcp-records.js";
import { WebRecords } from "../web/records.js";
import type { LockEntries } from "../engine/lockfile.js";
import type { ActionResult, Store } from "./index.js";

export interface GcOptions {
  /** sabuild.lock entries of the project(s) using this store: always kept. */
  locks: LockEntries[];
  /** How many of the most recent build records protect their results. */
  keepBuilds: number;
  /** After marking, evict least recently used unprotected results until the blobs fit. */
  maxSize?: number;
  dryRun: boolean;
}

export interface GcReport {
  keptResults: number;
  removedResults: number;
  removedBlobs: number;
  freedBytes: number;
  keptBytes: number;
  removedBuildRecords: number;
}

/**
 * Mark and sweep: results referenced by sabuild.lock or the last N builds are roots; with
 * --max-size, other results go least-recently-used first; then blobs no result needs are deleted.
 */
export async function collectGarbage(store: Store, opts: GcOptions): Promise<GcReport> {
  const records = await buildRecords(store);
  const recent = records.slice(0, opts.keepBuilds);
  const protectedKeys = new Set<string>();
  for (const lock of opts.locks) for (const e of Object.values(lock)) protectedKeys.add(e.key);
  for (const r of recent) for (const s of r.stages) protectedKeys.add(s.key);

  const results = new Map<string, { result: ActionResult; usedMs: number }>();
  for (const key of await store.ac.keys()) {
    const result = await store.ac.get(key);
    if (!result) continue;
    results.set(key, { result, usedMs: (await stat(store.ac.path(key))).mtimeMs });
  }
  // A protected map stage protects its items, which are results of their own.
  for (const key of [...protectedKeys]) for (const item of results.get(key)?.result.items ?? []) protectedKeys.add(item.key);

  const keep = new Set([...results.keys()].filter((k) => protectedKeys.has(k)));
  const sizes = new Map<string, number>();
  const blobSize = async (d: string): Promise<number> => {
    if (!sizes.has(d)) sizes.set(d, (await stat(store.cas.blobPath(d)).catch(() => ({ size: 0 }))).size);
    return sizes.get(d)!;
  };
  const blobsOf = async (k: string): Promise<string[]> => {
    const r = results.get(k)!.result;
    const manifest = await store.cas.readManifest(r.output).catch(() => undefined);
    return [r.output, r.log, ...(r.items ?? []).map((i) => i.output), ...(manifest?.entries ?? []).map((e) => e.digest)];
  };
  const live = new Set<string>();
  let liveBytes = 0;
  const addLive = async (digests: string[]): Promise<void> => {
    for (const d of digests) {
      if (live.has(d)) continue;
      live.add(d);
      liveBytes += await blobSize(d);
    }
  };
  for (const k of keep) await addLive(await blobsOf(k));
  // Teacher replies were paid for: a rebuild must replay them, not buy them again.
  await addLive(await new ResponseCache(store.root).blobs());
  // So were web results recorded for replay: gone, a replayed build could not run offline.
  await addLive(await new WebRecords(store.root).blobs());
  // And MCP tool results, for the same reason.
  await addLive(await new McpRecords(store.root).blobs());
  if (opts.maxSize !== undefined) {
    // Most recently used first: each result stays while the store still fits under the cap.
    const unprotected = [...results.keys()].filter((k) => !keep.has(k)).sort((a, b) => results.get(b)!.usedMs - results.get(a)!.usedMs);
    for (const k of unprotected) {
      const digests = await blobsOf(k);
      let extra = 0;
      for (const d of new Set(digests)) if (!live.has(d)) extra += await blobSize(d);
      if (liveBytes + extra > opts.maxSize) break;
      keep.add(k);
      await addLive(digests);
    }
  }
  const report: GcReport = { keptResults: keep.size, removedResults: 0, removedBlobs: 0, freedBytes: 0, keptBytes: liveBytes, removedBuildRecords: 0 };
  for (const key of results.keys()) {
    if (keep.has(key)) continue;
    report.removedResults++;
    if (!opts.dryRun) await store.ac.delete(key);
  }
  for (const d of await store.cas.listBlobs()) {
    if (live.has(d)) continue;
    report.removedBlobs++;
    report.freedBytes += await blobSize(d);
    if (!opts.dryRun) await store.cas.removeBlob(d);
  }
  if (!opts.dryRun) {
    // Trees are only caches of blobs: those of dead manifests go, the rest are rebuilt on demand.
    for (const name of await readdir(store.cas.treesDir).catch(() => [] as string[])) {
      if (!live.has(name)) await rm(join(store.cas.treesDir, name), { recursive: true, force: true });
    }
    for (const r of records.slice(opts.keepBuilds)) {
      await rm(r.file, { force: true });
      report.removedBuildRecords++;
    }
  }
  return report;
}

interface BuildRecord {
  file: string;
  stages: { id: string; key: string; output: string }[];
}

/** Build records, newest first. */
async function buildRecords(store: Store): Promise<BuildRecord[]> {
  const dir = join(store.root, "builds");
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json")).sort().reverse();
  const out: BuildRecord[] = [];
  for (const name of names) {
    try {
      const data = JSON.parse(await readFile(join(dir, name), "utf8")) as { stages: BuildRecord["stages"] };
      out.push({ file: join(dir, name), stages: data.stages });
    } catch {
      // A record we cannot read protects nothing.
    }
  }
  return out;
}
