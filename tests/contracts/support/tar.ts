import { readFileSync, writeFileSync } from "node:fs";

/**
 * Flips the first byte of one entry's content inside a tar file, leaving every header (and so
 * the size) as it was: a bundle damaged on the way, which only hashing can tell.
 */
export function damageTarEntry(file: string, name: string): void {
  const tar = readFileSync(file);
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const entry = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(header.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8);
    if (entry === name && size > 0) {
      tar[at + 512] = tar[at + 512]! ^ 0xff;
      writeFileSync(file, tar);
      return;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${file} has no entry ${name}`);
}
