import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "./index.js";

export interface VerifyReport {
  blobs: number;
  bytes: number;
  corrupt: string[];
  /** Action results that point at a missing or corrupt blob: they will be rebuilt. */
  brokenResults: string[];
  removedTrees: number;
}

/**
 * Rehashes every blob. A corrupt blob is deleted, with every materialised tree (they share its
 * inode), so the results that need it become misses and are rebuilt on the next build.
 */
export async function verifyStore(store: Store, onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
  const digests = await store.cas.listBlobs();
  const corrupt: string[] = [];
  let bytes = 0;
  let done = 0;
  for (const d of digests) {
    if (!(await store.cas.verifyBlob(d))) corrupt.push(d);
    done++;
    onProgress?.(done, digests.length);
  }
  for (const d of corrupt) await store.cas.removeBlob(d);
  let removedTrees = 0;
  if (corrupt.length) {
    for (const name of await readdir(store.cas.treesDir).catch(() => [] as string[])) {
      await rm(join(store.cas.treesDir, name), { recursive: true, force: true });
      removedTrees++;
    }
  }
  const brokenResults: string[] = [];
  for (const key of await store.ac.keys()) {
    const r = await store.ac.get(key);
    if (!r || !(await store.cas.isComplete(r.output))) brokenResults.push(r ? `${r.stage} (${key.slice(0, 12)})` : key);
  }
  for (const d of digests) if (!corrupt.includes(d)) bytes += (await stat(store.cas.blobPath(d)).catch(() => ({ size: 0 }))).size;
  return { blobs: digests.length, bytes, corrupt, brokenResults, removedTrees };
}
