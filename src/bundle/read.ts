import { createReadStream } from "node:fs";
import { extract, Parser, type ReadEntry } from "tar";
import { BUNDLE_INDEX, classifyEntry } from "./format.js";

/** sabuild-bundle.json is a list of results: far below this even for thousands of items. */
const INDEX_LIMIT = 64 * 1024 * 1024;

export interface Listing {
  /** `<entry>: <why it is refused>` for every unsafe entry. */
  problems: string[];
  /** The text of sabuild-bundle.json, when present. */
  indexText?: string;
}

/**
 * Reads the archive's headers without writing anything, and judges every entry. Entries tar
 * itself ignores (unknown types) are refused too: a bundle holds nothing but regular files.
 */
export async function listBundle(file: string): Promise<Listing> {
  const listing: Listing = { problems: [] };
  const parser = new Parser({ strict: true });
  parser.on("entry", (entry: ReadEntry) => {
    const kind = classifyEntry(entry.path, entry.type, entry.linkpath);
    if (!kind.ok) listing.problems.push(`${entry.path}: ${kind.error}`);
    if (kind.ok && kind.value?.kind === "index" && entry.size <= INDEX_LIMIT) {
      const chunks: Buffer[] = [];
      entry.on("data", (c: Buffer) => chunks.push(c));
      entry.on("end", () => (listing.indexText = Buffer.concat(chunks).toString("utf8")));
    } else {
      entry.resume();
    }
  });
  parser.on("ignoredEntry", (entry: ReadEntry) => listing.problems.push(`${entry.path}: unsupported ${entry.type} entry`));
  await new Promise<void>((resolve, reject) => {
    const input = createReadStream(file);
    input.on("error", reject);
    parser.on("error", reject);
    parser.on("end", resolve);
    input.pipe(parser);
  });
  return listing;
}

/**
 * Extracts the bundle's files into `dir`. The filter judges every entry again (the file could
 * have changed since it was listed): what it refuses is not written, and is returned.
 */
export async function extractBundle(file: string, dir: string): Promise<string[]> {
  const problems: string[] = [];
  await extract({
    file,
    cwd: dir,
    strict: true,
    preserveOwner: false,
    filter: (path, entry) => {
      const e = entry as ReadEntry;
      const kind = classifyEntry(path, e.type, e.linkpath);
      if (!kind.ok) problems.push(`${path}: ${kind.error}`);
      return kind.ok && kind.value !== undefined;
    },
  });
  return problems;
}
