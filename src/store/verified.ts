import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../key.js";
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

export function isVerified(storeRoot: string, projectRoot: string, lockDigest: string): boolean {
  try {
    return (JSON.parse(readFileSync(recordPath(storeRoot, projectRoot), "utf8")) as { lock?: string }).lock === lockDigest;
  } catch {
    return false;
  }
}

export async function markVerified(storeRoot: string, projectRoot: string, lockDigest: string): Promise<void> {
  await writeFileAtomic(recordPath(storeRoot, projectRoot), JSON.stringify({ lock: lockDigest, at: new Date().toISOString() }));
}

const invalidated = new Set<string>();

/** Called before the first deletion from a store in this process. */
export function invalidateVerified(storeRoot: string): void {
  if (invalidated.has(storeRoot)) return;
  rmSync(join(storeRoot, "verified"), { recursive: true, force: true });
  invalidated.add(storeRoot);
}
