import { readFileSync, rmSync, statSync } from "node:fs";
import { sameStamp, stampOf, type FileStamp } from "./stamp.js";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256 } from "../engine/key.js";
import type { KnownParams } from "../engine/known-params.js";
import { writeFileAtomic } from "./atomic.js";
import { lockLines, parseLockLines } from "../engine/lock-line.js";
import type { LockEntries } from "../engine/lockfile.js";
import { nameHash } from "./name-hash.js";

/**
 * "Every output that this sabuild.lock names was complete in the store": remembered per project
 * after a full build, so a no-op build trusts the lock instead of checking ~1,000 results and
 * their blobs one by one. Anything that deletes from the store (gc, clean, verify) drops these
 * records first; `sabuild cache verify` is the check for damage done by hand.
 */
function recordPath(storeRoot: string, projectRoot: string): string {
  return join(storeRoot, "verified", `${nameHash(projectRoot)}.json`);
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
  /** The project directory (the file's name is only a hash of it). */
  project?: string;
  lock?: string;
  /** sabuild.lock's (inode, size, mtime, ctime) when its digest `lock` was taken. */
  lockStamp?: FileStamp;
  store?: string;
  keys?: string;
  /** Per node: the sha256 and the canonical text of params a build hashed (see paramsMemory). */
  params?: Record<string, [string, string]>;
  /** The lock's entries, one line each (engine/lock-line.ts), and how many: read instead of the lock while its stamp holds. */
  lines?: string;
  entries?: number;
}

// The record as last parsed, by path and the file's stamp: opening a project asks it three times.
const parsed = new Map<string, { stamp: FileStamp; record: VerifiedRecord }>();

function readRecord(storeRoot: string, projectRoot: string): VerifiedRecord | undefined {
  const path = recordPath(storeRoot, projectRoot);
  try {
    const stamp = stampOf(path);
    if (!stamp) return undefined;
    let record = parsed.get(path);
    if (!record || !sameStamp(record.stamp, stamp)) {
      record = { stamp, record: JSON.parse(readFileSync(path, "utf8")) as VerifiedRecord };
      parsed.set(path, record);
    }
    const r = record.record;
    return r.project === projectRoot && r.store === storeIdentity(storeRoot) && r.keys === keyCodeIdentity() ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The verified lock's digest and entries while sabuild.lock is the file they were taken of (its
 * stamp, as verifiedLockDigest): a no-op build then does not read the lock at all. Undefined
 * when anything differs, or the record holds no lines (an older sabuild's).
 */
export function verifiedLockEntries(storeRoot: string, projectRoot: string, lockStamp: FileStamp): { digest: string; entries: LockEntries } | undefined {
  const record = stampedRecord(storeRoot, projectRoot, lockStamp);
  if (!record || typeof record.lines !== "string" || typeof record.entries !== "number") return undefined;
  const entries = parseLockLines(record.lines, record.entries);
  return entries ? { digest: record.lock, entries } : undefined;
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
  return stampedRecord(storeRoot, projectRoot, lockStamp)?.lock;
}

/** The record while sabuild.lock has the stamp it recorded, with the lock's digest. */
function stampedRecord(storeRoot: string, projectRoot: string, lockStamp: FileStamp | undefined): (VerifiedRecord & { lock: string }) | undefined {
  const record = readRecord(storeRoot, projectRoot);
  return record?.lock && lockStamp && sameStamp(record.lockStamp, lockStamp) ? (record as VerifiedRecord & { lock: string }) : undefined;
}

/**
 * Records that every output the lock with `lockDigest` names is complete in the store. The lock
 * file's stamp is recorded only when its bytes, hashed again here (a full build, not a no-op),
 * are that lock: a file edited meanwhile leaves the digest to be checked by content next time.
 */
export async function markVerified(storeRoot: string, projectRoot: string, lockDigest: string, lockPath?: string, params?: ParamsMemory, entries?: LockEntries): Promise<void> {
  const lockStamp = lockPath ? stampedDigest(lockPath) : undefined;
  // The entries are those of the lock with this digest (the caller's); kept only with its stamp.
  const lines = entries && lockStamp?.digest === lockDigest ? lockLines(entries) : undefined;
  const record: VerifiedRecord & { at: string } = {
    project: projectRoot,
    lock: lockDigest,
    ...(lockStamp?.digest === lockDigest ? { lockStamp: lockStamp.stamp } : {}),
    store: storeIdentity(storeRoot),
    keys: keyCodeIdentity(),
    at: new Date().toISOString(),
    ...(params ? { params: params.entries() } : {}),
    ...(lines !== undefined ? { lines, entries: Object.keys(entries!).length } : {}),
  };
  await writeFileAtomic(recordPath(storeRoot, projectRoot), JSON.stringify(record));
}

/**
 * Params are not hashed when their text is known: each remembered text comes with the sha256 a
 * build computed of it, so a node whose params read the same as remembered, and whose lock
 * entry holds that sha256, has the params of its entry. The text is compared, not a cheaper
 * hash of it: a no-op answers the same as hashing would, and loads no hash code at all. Texts
 * past MAX_TEXT are not kept (large params are hashed each time, as before).
 */
const MAX_TEXT = 4096;

export interface ParamsMemory extends KnownParams {
  /** Whether this run hashed params it did not remember. */
  readonly learned: boolean;
  /** What to remember for the nodes still in the graph. */
  entries(): Record<string, [string, string]>;
}

export function paramsMemory(storeRoot: string, projectRoot: string, nodeIds: Iterable<string>): ParamsMemory {
  const known = new Map(Object.entries(readRecord(storeRoot, projectRoot)?.params ?? {}));
  const ids = new Set(nodeIds);
  let learned = false;
  return {
    get: (id) => known.get(id),
    learn(id, digest, canonical) {
      if (canonical.length > MAX_TEXT) return;
      const had = known.get(id);
      if (had?.[0] === digest && had[1] === canonical) return;
      known.set(id, [digest, canonical]);
      learned = true;
    },
    get learned() {
      return learned;
    },
    entries: () => Object.fromEntries([...known].filter(([id]) => ids.has(id))),
  };
}

/** Keeps what a no-op learned (params it had to hash) in the record of the lock it trusted. */
export async function rememberParams(storeRoot: string, projectRoot: string, lockDigest: string, params: ParamsMemory): Promise<void> {
  const record = readRecord(storeRoot, projectRoot);
  if (!record || record.lock !== lockDigest) return;
  await writeFileAtomic(recordPath(storeRoot, projectRoot), JSON.stringify({ ...record, params: params.entries() }));
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
