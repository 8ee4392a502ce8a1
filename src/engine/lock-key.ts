import { canonicalJson, sha256, type KeyPreimage } from "./key.js";
import type { KnownParams } from "./known-params.js";
import type { LockEntry } from "./lockfile.js";

/** The fields of a node's preimage (not of a map item's): what a lock entry records of it. */
const NODE_FIELDS = ["kind", "version", "params", "files", "upstream", "toolchain"] as const;

/**
 * The key of a node's preimage when it equals its sabuild.lock entry field by field: the entry's
 * key, without serialising and hashing the whole preimage (a fifth of the engine's time in a
 * no-op build of 900 stages). Only the params are hashed, as the entry holds their digest, and
 * not even they when `known` remembers their text with that digest.
 *
 * Sound only for entries that lockEntryOf made from the preimage their key hashes, with this
 * build's key function: the caller passes a trusted lock (env.trustLock, see store/verified.ts,
 * which also ties the trust to key.js). The kind is the node id's, and so the entry's. Anything
 * the entry does not record (a map item, a new preimage field) gives undefined: hash it all.
 */
export function keyFromLock(preimage: KeyPreimage, locked: LockEntry | undefined, id?: string, known?: KnownParams): string | undefined {
  if (!locked) return undefined;
  if (ownKeys(preimage) !== NODE_FIELDS.length || !NODE_FIELDS.every((f) => f in preimage)) return undefined;
  if (preimage.version !== locked.version) return undefined;
  if (!sameDigests(preimage.files, locked.files) || !sameDigests(preimage.upstream, locked.upstream) || !sameDigests(preimage.toolchain, locked.toolchain)) return undefined;
  const canonical = canonicalJson(preimage.params);
  // Params remembered as this text, with the sha256 this entry holds: no need to hash them again.
  const remembered = id === undefined ? undefined : known?.get(id);
  if (remembered && remembered[0] === locked.params && remembered[1] === canonical) return locked.key;
  const digest = sha256(canonical);
  if (digest !== locked.params) return undefined;
  if (id !== undefined) known?.learn(id, digest, canonical);
  return locked.key;
}

function sameDigests(now: Record<string, string>, locked: Record<string, string> | undefined): boolean {
  if (!locked) return false;
  // Loops, not Object.keys: two arrays per field per node were most of a no-op's garbage here.
  let count = 0;
  for (const k in now) {
    // An undefined value is dropped by the canonical JSON but not by this count: hash it all then.
    if (typeof now[k] !== "string" || now[k] !== locked[k]) return false;
    count++;
  }
  return ownKeys(locked) === count;
}

/** How many keys an object has, counted without making their array. */
function ownKeys(o: object): number {
  let n = 0;
  for (const k in o) if (Object.hasOwn(o, k)) n++;
  return n;
}
