import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { sha256 } from "../engine/key.js";

/** The document types the local provider indexes. */
export const CORPUS_FILE = /\.(html?|xhtml|md|markdown|txt|rst)$/i;

/**
 * The files of a local search corpus, relative to the project root (forward slashes), sorted:
 * the index reads them, and the stages that search declare them as inputs, so an edited page
 * changes their keys. Hidden folders are skipped.
 */
export function corpusFiles(projectRoot: string, folder: string): string[] {
  const base = join(projectRoot, folder);
  let entries;
  try {
    entries = readdirSync(base, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && CORPUS_FILE.test(e.name))
    .map((e) => relative(projectRoot, join(e.parentPath, e.name)).split(sep).join("/"))
    .filter((p) => !p.split("/").some((part) => part.startsWith(".")))
    .sort();
}

/**
 * Digest of the corpus's files and contents: an edited page makes every search a new one, and
 * every fetch of a page under the corpus's base_url (whose pages are these files).
 */
export async function corpusDigest(root: string, folder: string): Promise<string> {
  const parts: string[] = [];
  for (const path of corpusFiles(root, folder)) parts.push(`${path}\0${sha256(await readFile(join(root, path)))}`);
  return sha256(parts.join("\n"));
}
