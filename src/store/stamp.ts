import { statSync, type Stats } from "node:fs";

/** A file's (inode, size, mtime, ctime): any write or replacement changes one of them. */
export type FileStamp = readonly [number, number, number, number];

export function stampOf(path: string): FileStamp | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? stampOfStats(st) : undefined;
}

export function stampOfStats(st: Stats): FileStamp {
  return [st.ino, st.size, st.mtimeMs, st.ctimeMs];
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
