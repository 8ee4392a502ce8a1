/**
 * Near-duplicate detection for task prompts: MinHash signatures over word bigrams, compared by
 * the fraction of equal slots (an unbiased estimate of the Jaccard similarity of the shingle
 * sets). Tasks are short, so bigrams rather than longer shingles: one changed word in a
 * 20-word prompt still leaves most bigrams shared.
 */

export const DEFAULT_PERMUTATIONS = 128;

/** Lowercase words, punctuation dropped except inside tokens such as `tests/test_api.py`. */
export function words(text: string): string[] {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ""))
    .filter(Boolean);
}

/** Word bigrams of the text (a one-word text is its own shingle). */
export function shingles(text: string): Set<string> {
  const w = words(text);
  if (w.length < 2) return new Set(w);
  const out = new Set<string>();
  for (let i = 0; i + 1 < w.length; i++) out.add(`${w[i]} ${w[i + 1]}`);
  return out;
}

export function exactJaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

/** FNV-1a, 32 bits: the base hash of a shingle. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finaliser: a bijection on 32-bit integers that mixes every bit. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * One seed per permutation, from a fixed splitmix32 sequence: signatures are comparable across
 * runs and machines. Permutation i maps a shingle hash x to fmix32(x ^ seed_i), a bijection of
 * the 32-bit space, so each slot is the minimum under a different random-looking order.
 */
const seedCache = new Map<number, Uint32Array>();
function seeds(n: number): Uint32Array {
  let s = seedCache.get(n);
  if (!s) {
    s = new Uint32Array(n);
    let state = 0x9e3779b9;
    for (let i = 0; i < n; i++) {
      state = (state + 0x9e3779b9) >>> 0;
      s[i] = fmix32(state);
    }
    seedCache.set(n, s);
  }
  return s;
}

export function minhash(set: Set<string>, permutations = DEFAULT_PERMUTATIONS): Uint32Array {
  const sig = new Uint32Array(permutations).fill(0xffffffff);
  const seed = seeds(permutations);
  for (const shingle of set) {
    const x = fnv1a(shingle);
    for (let i = 0; i < permutations; i++) {
      const h = fmix32(x ^ seed[i]!);
      if (h < sig[i]!) sig[i] = h;
    }
  }
  return sig;
}

/** Fraction of equal slots: estimates the Jaccard similarity of the two shingle sets. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) throw new Error("bug: MinHash signatures of different lengths");
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++;
  return equal / a.length;
}

export interface DuplicateMatch {
  /** The earlier text this one duplicates. */
  of: string;
  /** 1 for the same normalized text, else the MinHash estimate. */
  similarity: number;
}

/**
 * Texts seen so far, for "is this new one a near-duplicate of any of them?". A linear scan
 * over signatures: a few thousand tasks compare in milliseconds, and unlike LSH banding it
 * misses no pair above the threshold.
 */
export class NearDuplicateIndex {
  private readonly exact = new Map<string, string>();
  private readonly entries: { text: string; sig: Uint32Array }[] = [];

  constructor(
    readonly threshold: number,
    private readonly permutations = DEFAULT_PERMUTATIONS,
  ) {}

  /** The closest earlier text at or above the threshold, if any. Does not add the text. */
  find(text: string): DuplicateMatch | undefined {
    const norm = words(text).join(" ");
    const same = this.exact.get(norm);
    if (same !== undefined) return { of: same, similarity: 1 };
    const sig = minhash(shingles(text), this.permutations);
    let best: DuplicateMatch | undefined;
    for (const e of this.entries) {
      const s = estimateJaccard(sig, e.sig);
      if (s >= this.threshold && (!best || s > best.similarity)) best = { of: e.text, similarity: s };
    }
    return best;
  }

  add(text: string): void {
    const norm = words(text).join(" ");
    if (this.exact.has(norm)) return;
    this.exact.set(norm, text);
    this.entries.push({ text, sig: minhash(shingles(text), this.permutations) });
  }

  get size(): number {
    return this.entries.length;
  }
}
