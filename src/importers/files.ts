import { nodeCrypto } from "../builtin.js";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Problem } from "../errors.js";

/** Path of `abs` relative to `root`, with forward slashes, as every Problem and spec reports it. */
export function relPath(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join("/");
}

/** Compares by UTF-16 code units: sorting must not depend on the machine's locale. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sha256(data: Uint8Array | string): string {
  return nodeCrypto().createHash("sha256").update(data).digest("hex");
}

export async function isFile(abs: string): Promise<boolean> {
  return (await stat(abs).catch(() => undefined))?.isFile() ?? false;
}

export async function isDirectory(abs: string): Promise<boolean> {
  return (await stat(abs).catch(() => undefined))?.isDirectory() ?? false;
}

/** Reads a text file, or undefined when it does not exist or cannot be read. */
export async function readText(abs: string): Promise<string | undefined> {
  return readFile(abs, "utf8").catch(() => undefined);
}

/**
 * Every regular file under `dir` (absolute paths, sorted), descending into directories for which
 * `enter(name)` is true and keeping files for which `keep(name)` is true. Symlinked files count as
 * files; symlinked directories are not followed, so a link cycle cannot make the walk endless.
 */
export async function walkFiles(
  dir: string,
  enter: (name: string) => boolean,
  keep: (name: string) => boolean = () => true,
): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (enter(entry.name)) out.push(...(await walkFiles(abs, enter, keep)));
    } else if (keep(entry.name) && (entry.isFile() || (entry.isSymbolicLink() && (await isFile(abs))))) {
      out.push(abs);
    }
  }
  return out.sort(byCodeUnit);
}

/** A problem about a file as a whole (line 0), e.g. one that is missing. */
export function fileProblem(file: string, message: string, hint?: string): Problem {
  return { file, line: 0, column: 0, keyPath: [], message, ...(hint === undefined ? {} : { hint }) };
}

/** 1-based line and column of a character offset in `text`. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
