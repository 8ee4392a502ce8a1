import { createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { Header, Pack, ReadEntry } from "tar";
import { tempName } from "../store/atomic.js";
import type { Store } from "../store/index.js";
import { VERSION } from "../version.js";
import type { CollectedResult } from "./collect.js";
import { BUNDLE_FORMAT, BUNDLE_INDEX, blobEntryName, resultEntryName, type BundleIndex } from "./format.js";

export interface WrittenBundle {
  results: number;
  blobs: number;
  /** Sum of the blobs' sizes. */
  blobBytes: number;
  /** Size of the tar file. */
  bytes: number;
}

/**
 * Streams the results and their blobs into a tar at `file` (written beside it, then renamed: a
 * failed export leaves no half bundle). tar reads each blob from the store in chunks, so a
 * multi-GB model file is never held in memory.
 */
export async function writeBundle(store: Store, results: CollectedResult[], file: string): Promise<WrittenBundle> {
  const blobs = new Map<string, number>();
  for (const r of results) for (const b of r.blobs) blobs.set(b.digest, b.size);
  const index: BundleIndex = {
    format: BUNDLE_FORMAT,
    sabuild: VERSION,
    created: new Date().toISOString(),
    results: results.map((r) => ({ stage: r.stage, key: r.result.key, output: r.result.output, blobs: r.blobs })),
  };
  // The store's sharded paths (ac/12/<key>.json, cas/ab/<digest>) become flat names in the tar.
  const names = new Map<string, string>();
  const storePath = (abs: string): string => relative(store.root, abs).split(sep).join("/");
  for (const r of results) names.set(storePath(store.ac.path(r.result.key)), resultEntryName(r.result.key));
  for (const digest of blobs.keys()) names.set(storePath(store.cas.blobPath(digest)), blobEntryName(digest));

  const pack = new Pack({ cwd: store.root, portable: true, strict: true, onWriteEntry: (e) => void (e.path = names.get(e.path) ?? e.path) });
  const tmp = tempName(dirname(file), ".sabuild-bundle");
  const out = createWriteStream(tmp);
  const written = new Promise<void>((resolve, reject) => {
    out.on("close", resolve);
    out.on("error", reject);
    pack.on("error", reject);
  });
  pack.pipe(out);
  pack.add(memoryEntry(BUNDLE_INDEX, `${JSON.stringify(index, null, 1)}\n`));
  for (const path of names.keys()) pack.add(path);
  pack.end();
  try {
    await written;
    await rename(tmp, file);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
  let blobBytes = 0;
  for (const size of blobs.values()) blobBytes += size;
  return { results: results.length, blobs: blobs.size, blobBytes, bytes: (await stat(file)).size };
}

/** A tar entry whose content is in memory (the index, which exists in no store file). */
function memoryEntry(path: string, text: string): ReadEntry {
  const data = Buffer.from(text);
  const entry = new ReadEntry(new Header({ path, type: "File", mode: 0o644, size: data.length, mtime: new Date() }));
  entry.end(data);
  return entry;
}
