import { nodeCrypto } from "../builtin.js";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * Temp names are this process's pid, a random tag drawn once per process (a worker thread loads
 * its own copy of this module, so draws its own) and a counter: unique beside every other writer
 * of the same folder, without a call into OpenSSL for every file.
 */
let tag: string | undefined;
let counter = 0;

/** A unique name for a temp file or directory beside its final place (same filesystem). */
export function tempName(dir: string, prefix = ".tmp"): string {
  tag ??= nodeCrypto().randomBytes(6).toString("hex");
  return join(dir, `${prefix}-${process.pid}-${tag}${(counter++).toString(36)}`);
}

/**
 * Up to this size a write goes through the synchronous calls. Store writes are mostly a few
 * hundred bytes (a teacher reply and its index entry, an action result, a manifest, a log),
 * and each of fs/promises' calls is a thread-pool round trip: open, write, close and rename
 * cost several times the CPU of the same calls made in place (0.2-0.5 against 0.04-0.06 CPU-ms
 * a write on a 2-core VM: bench/README.md, bench-items.mjs), and a benchmark item makes a dozen
 * such writes. Blocking the event loop for a small local write is cheaper than handing it off;
 * larger data keeps the asynchronous path.
 */
const SYNC_WRITE_MAX_BYTES = 64 * 1024;

/** Writes a file so that readers see the old content or the new one, never a half-written one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  if ((typeof data === "string" ? data.length * 3 : data.byteLength) <= SYNC_WRITE_MAX_BYTES) return writeFileAtomicSync(path, data);
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

/** writeFileAtomic in place: small writes, and synchronous callers (caches read and written in one call). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = tempName(dir);
  try {
    try {
      writeFileSync(tmp, data);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      mkdirSync(dir, { recursive: true });
      writeFileSync(tmp, data);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
