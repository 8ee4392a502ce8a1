import { nodeCrypto } from "../builtin.js";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** A unique name for a temp file or directory beside its final place (same filesystem). */
export function tempName(dir: string, prefix = ".tmp"): string {
  return join(dir, `${prefix}-${process.pid}-${nodeCrypto().randomBytes(6).toString("hex")}`);
}

/** Writes a file so that readers see the old content or the new one, never a half-written one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = tempName(dir);
  try {
    // The directory is made only when the write says it is missing: nearly every write goes to
    // a store shard that exists, and a recursive mkdir first cost more than the write (a
    // benchmark item writes a dozen files: replies, their index, the trace, the result).
    await writeFile(tmp, data).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
      await mkdir(dir, { recursive: true });
      await writeFile(tmp, data);
    });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** writeFileAtomic for synchronous callers (small files: caches read and written in one call). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = tempName(dir);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
