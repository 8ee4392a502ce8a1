import { parseManifest } from "../store/manifest.js";
import { HttpCache } from "./http-cache.js";
import type { RemoteSettings } from "./settings.js";
import { openAction } from "./signing.js";

export interface PruneReport {
  removedResults: number;
  removedBlobs: number;
  freedBytes: number;
  keptResults: number;
  refused: number;
}

/**
 * Deletes action results older than the cutoff, except those sabuild.lock names (and their map
 * items), then blobs older than the cutoff that no kept result needs. Optional: it needs a server
 * that lists directories and allows DELETE; servers such as bazel-remote evict by size on their own.
 */
export async function pruneRemote(settings: RemoteSettings, cutoff: Date, dryRun: boolean, locked: Set<string>): Promise<PruneReport | string> {
  const http = new HttpCache(settings.url, settings.headers);
  const results = await http.list("ac");
  const blobs = await http.list("cas");
  if (!results || !blobs) {
    return "the server does not list /ac/ and /cas/ as JSON; prune-remote needs that (nginx: autoindex on; autoindex_format json;) and DELETE";
  }
  const report: PruneReport = { removedResults: 0, removedBlobs: 0, freedBytes: 0, keptResults: 0, refused: 0 };
  const keep = new Set([...locked]);
  for (const r of results) if (r.mtime >= cutoff) keep.add(r.name);
  const live = new Set<string>();
  // Kept results protect their map items (results of their own) and every blob they need.
  const queue = results.filter((r) => keep.has(r.name)).map((r) => r.name);
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    const data = await http.getAction(name);
    // A result we cannot read protects nothing: its blobs age out like any other.
    const opened = data ? openAction(data, name) : undefined;
    if (!opened?.ok) continue;
    const result = opened.value;
    live.add(result.output).add(result.log);
    for (const item of result.items ?? []) {
      live.add(item.output);
      if (!keep.has(item.key)) {
        keep.add(item.key);
        queue.push(item.key);
      }
    }
    for (const d of await manifestDigests(http, result.output)) live.add(d);
  }
  report.keptResults = results.filter((r) => keep.has(r.name)).length;
  for (const r of results) {
    if (keep.has(r.name)) continue;
    if (dryRun || (await http.remove("ac", r.name))) report.removedResults++;
    else report.refused++;
  }
  for (const b of blobs) {
    if (b.mtime >= cutoff || live.has(b.name)) continue;
    if (dryRun || (await http.remove("cas", b.name))) {
      report.removedBlobs++;
      report.freedBytes += b.size;
    } else report.refused++;
  }
  return report;
}

async function manifestDigests(http: HttpCache, digest: string): Promise<string[]> {
  const data = await http.getSmallBlob(digest);
  try {
    return data ? parseManifest(data.toString("utf8")).entries.map((e) => e.digest) : [];
  } catch {
    return [];
  }
}
