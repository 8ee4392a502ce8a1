import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { UserInputError } from "../errors.js";
import { tempName } from "../store/atomic.js";
import type { Store } from "../store/index.js";
import { blobEntryName } from "./format.js";
import { extractBundle, listBundle } from "./read.js";
import { parseIndex, verifyExtracted, type VerifiedBundle } from "./verify.js";

export interface ImportReport {
  results: { imported: number; present: number };
  blobs: { added: number; present: number };
  /** Bytes of the blobs added to the store. */
  bytes: number;
}

/** Refuses an archive with any unsafe entry before anything is written. No lock needed. */
export async function checkBundle(file: string): Promise<void> {
  const listing = await listBundle(file).catch((e: Error) => {
    throw new UserInputError(`${file} cannot be read as a tar archive: ${e.message}`);
  });
  if (listing.problems.length) throw refusal(file, listing.problems);
  if (listing.indexText === undefined) throw refusal(file, ["no sabuild-bundle.json: not a sabuild bundle"]);
  const index = parseIndex(listing.indexText);
  if (!index.ok) throw refusal(file, [index.error]);
}

/**
 * Adds a checked bundle's results to the store; the caller holds the store lock. The bundle is
 * extracted and verified in a staging directory under `<store>/tmp/`; only then do blobs move
 * into cas/, and action results are written last, so an import cut short never leaves a result
 * that points at a missing blob.
 */
export async function importBundle(store: Store, file: string): Promise<ImportReport> {
  await mkdir(store.cas.tmpDir, { recursive: true });
  const dir = tempName(store.cas.tmpDir, "import");
  await mkdir(dir);
  try {
    const refused = await extractBundle(file, dir).catch((e: Error) => [`cannot extract: ${e.message}`]);
    if (refused.length) throw refusal(file, refused);
    const verified = await verifyExtracted(store, dir);
    if (!verified.ok) throw refusal(file, verified.error);
    return await commit(store, verified.value);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function commit(store: Store, bundle: VerifiedBundle): Promise<ImportReport> {
  const report: ImportReport = { results: { imported: 0, present: 0 }, blobs: { added: 0, present: 0 }, bytes: 0 };
  for (const [digest, size] of bundle.blobs) {
    if (await store.cas.has(digest, size)) {
      report.blobs.present++;
      continue;
    }
    // Already hashed by verifyExtracted: installed as is, not hashed a second time.
    await store.cas.adoptVerified(join(bundle.dir, blobEntryName(digest)), digest);
    report.blobs.added++;
    report.bytes += size;
  }
  // Items before the map stages they make up: a stage result never appears before its items.
  const ordered = [...bundle.results].sort((a, b) => Number(a.items !== undefined) - Number(b.items !== undefined));
  for (const result of ordered) {
    const existing = await store.ac.get(result.key);
    if (existing && (await store.cas.isComplete(existing.output))) {
      report.results.present++;
      continue;
    }
    await store.ac.put(result);
    report.results.imported++;
  }
  return report;
}

function refusal(file: string, problems: string[]): UserInputError {
  const shown = problems.slice(0, 20);
  const more = problems.length > shown.length ? [`... and ${problems.length - shown.length} more`] : [];
  return new UserInputError(`refusing to import ${file}; nothing was written to the store:\n  ${[...shown, ...more].join("\n  ")}`);
}
