import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";

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
