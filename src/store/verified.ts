import { readFileSync, rmSync, statSync } from "node:fs";
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

export function isVerified(storeRoot: string, projectRoot: string, lockDigest: string): boolean {
  try {
    const record = JSON.parse(readFileSync(recordPath(storeRoot, projectRoot), "utf8")) as { lock?: string; store?: string; keys?: string };
    return record.lock === lockDigest && record.store === storeIdentity(storeRoot) && record.keys === keyCodeIdentity();
  } catch {
    return false;
  }
}

export async function markVerified(storeRoot: string, projectRoot: string, lockDigest: string): Promise<void> {
  const record = { lock: lockDigest, store: storeIdentity(storeRoot), keys: keyCodeIdentity(), at: new Date().toISOString() };
  await writeFileAtomic(recordPath(storeRoot, projectRoot), JSON.stringify(record));
}

const invalidated = new Set<string>();

/** Called before the first deletion from a store in this process. */
export function invalidateVerified(storeRoot: string): void {
  if (invalidated.has(storeRoot)) return;
  rmSync(join(storeRoot, "verified"), { recursive: true, force: true });
  invalidated.add(storeRoot);
}
