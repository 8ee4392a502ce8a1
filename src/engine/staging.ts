import { mkdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import type { KeyPreimage } from "./key.js";
import { tempName } from "../store/atomic.js";
import type { ActionResult, Store } from "../store/index.js";
import { makeManifest, type ManifestEntry } from "../store/manifest.js";
import type { UpstreamOutput } from "./types.js";

/** Upstream outputs, by the names a node gives its deps, materialised read-only from the store. */
export async function materializeUpstream(store: Store, upstream: Record<string, string>): Promise<Record<string, UpstreamOutput>> {
  const out: Record<string, UpstreamOutput> = {};
  for (const [name, digest] of Object.entries(upstream)) out[name] = { dir: await store.cas.materialize(digest), digest };
  return out;
}

/**
 * Runs `fn` with a fresh staging directory and commits what it wrote as one result. Nothing is
 * committed when `fn` throws or the build is aborted: the store never holds half an output.
 */
export async function runStaged(
  store: Store,
  signal: AbortSignal,
  stage: string,
  preimage: KeyPreimage,
  key: string,
  log: string[],
  fn: (outDir: string) => Promise<void>,
): Promise<ActionResult> {
  const started = Date.now();
  // In place: two mkdirs through fs/promises were two thread-pool round trips on every item's path.
  mkdirSync(store.cas.tmpDir, { recursive: true });
  const outDir = tempName(store.cas.tmpDir, "stage");
  mkdirSync(outDir, { recursive: true });
  let adopted = false;
  try {
    await fn(outDir);
    signal.throwIfAborted();
    const { digest } = await store.cas.adoptTree(outDir);
    adopted = true;
    const result: ActionResult = {
      version: 1,
      key,
      stage,
      preimage,
      output: digest,
      log: await store.cas.putBytes(`${log.join("\n")}\n`),
      durationMs: Date.now() - started,
      createdAt: new Date().toISOString(),
    };
    await store.ac.put(result);
    return result;
  } finally {
    // Adopted, the folder holds only empty directories (its files moved into the store): removed
    // in place. Otherwise it may hold a whole failed output, removed off the event loop.
    if (adopted) rmSync(outDir, { recursive: true, force: true });
    else await rm(outDir, { recursive: true, force: true });
  }
}

/** The stage output of a map stage: `items/<id>/...` for each item plus an `index.json`. */
export async function combineItems(store: Store, items: { id: string; output: string }[]): Promise<string> {
  const entries: ManifestEntry[] = [];
  for (const item of items) {
    const m = await store.cas.readManifest(item.output);
    for (const e of m.entries) entries.push({ ...e, path: `items/${item.id}/${e.path}` });
  }
  const index = `${JSON.stringify({ items: items.map((i) => ({ id: i.id, output: i.output })) }, null, 1)}\n`;
  const indexDigest = await store.cas.putBytes(index);
  entries.push({ path: "index.json", digest: indexDigest, size: Buffer.byteLength(index), executable: false });
  return (await store.cas.putManifest(makeManifest(entries))).digest;
}
