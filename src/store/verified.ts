import { readFileSync, rmSync, statSync } from "node:fs";
import { sameStamp, stampOf, type FileStamp } from "./stamp.js";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256 } from "../engine/key.js";
import { writeFileAtomic } from "./atomic.js";

/**
 * "Every output that this sabuild.lock names was complete in the store": remembered per project
 * after a full build, so a no-op build trusts the lock instead of checking ~1,000 results and
 * their blobs one by one. Anything that deletes from the store (gc, clean, verify) drops these
 * records first; `sabuild cache verify` is the check for damage done by hand.
 */
function recordPath(storeRoot: string, projectRoot: string): string {
  return join(storeRoot, "verified", `${sha256(projectRoot).slice(0, 32)}.json`);
}

/** The identity of the store's directories: a store wiped or replaced by hand has new ones. */
function storeIdentity(storeRoot: string): string {
  return ["cas", "ac"].map((d) => statSync(join(storeRoot, d), { throwIfNoEntry: false })?.ino ?? 0).join(":");
}

/**
 * The build of the key function (engine/key.js: its size and mtime). A trusted lock lets the
 * engine take a node's key from its entry when the inputs match it (engine/lock-key.ts), which
 * holds only while keys are computed as they were when the lock was written: a new sabuild, or
 * a rebuilt one, checks every result once and records itself.
 */
function keyCodeIdentity(): string {
  const st = statSync(fileURLToPath(new URL("../engine/key.js", import.meta.url)), { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}` : "";
}

interface VerifiedRecord {
  lock?: string;
  /** sabuild.lock's (inode, size, mtime, ctime) when its digest `lock` was taken. */
  lockStamp?: FileStamp;
  store?: string;
  keys?: string;
}

function readRecord(storeRoot: string, projectRoot: string): VerifiedRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(recordPath(storeRoot, projectRoot), "utf8")) as VerifiedRecord;
    return record.store === storeIdentity(storeRoot) && record.keys === keyCodeIdentity() ? record : undefined;
  } catch {
    return undefined;
  }
}

export function isVerified(storeRoot: string, projectRoot: string, lockDigest: string): boolean {
  return readRecord(storeRoot, projectRoot)?.lock === lockDigest;
}

/**
 * The verified lock's digest while sabuild.lock is the file it was taken of (same inode, size,
 * mtime and ctime, the rule of the stat cache and of git's index): a no-op build then neither
 * hashes the ~650 KB lock of 1,000 stages nor doubts it. Undefined when anything differs.
 */
export function verifiedLockDigest(storeRoot: string, projectRoot: string, lockStamp: FileStamp | undefined): string | undefined {
  const record = readRecord(storeRoot, projectRoot);
  return record?.lock && lockStamp && sameStamp(record.lockStamp, lockStamp) ? record.lock : undefined;
}

/**
 * Records that every output the lock with `lockDigest` names is complete in the store. The lock
 * file's stamp is recorded only when its bytes, hashed again here (a full build, not a no-op),
 * are that lock: a file edited meanwhile leaves the digest to be checked by content next time.
 */
export async function markVerified(storeRoot: string, projectRoot: string, lockDigest: string, lockPath?: string): Promise<void> {
  const lockStamp = lockPath ? stampedDigest(lockPath) : undefined;
  const record: VerifiedRecord & { at: string } = {
    lock: lockDigest,
    ...(lockStamp?.digest === lockDigest ? { lockStamp: lockStamp.stamp } : {}),
    store: storeIdentity(storeRoot),
    keys: keyCodeIdentity(),
    at: new Date().toISOString(),
  };
  await writeFileAtomic(recordPath(storeRoot, projectRoot), JSON.stringify(record));
}

/** A file's digest and its stamp, the same before and after the read (else undefined). */
function stampedDigest(path: string): { digest: string; stamp: FileStamp } | undefined {
  const before = stampOf(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  const after = stampOf(path);
  return before && after && sameStamp(before, after) ? { digest: sha256(bytes), stamp: after } : undefined;
}

const invalidated = new Set<string>();

/** Called before the first deletion from a store in this process. */
export function invalidateVerified(storeRoot: string): void {
  if (invalidated.has(storeRoot)) return;
  rmSync(join(storeRoot, "verified"), { recursive: true, force: true });
  invalidated.add(storeRoot);
}
