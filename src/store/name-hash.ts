/**
 * A short file name derived from a path (a project's record in the store, a config's cache entry):
 * not a key, so no cryptographic hash, and none loaded to make it (node:crypto costs a no-op
 * build ~10 ms). Each such file stores the path it is for and is ignored when it names another,
 * so a collision costs a cache miss, never a wrong answer. Two 32-bit FNV-1a passes with different
 * offsets, hand-written because ten lines are cheaper than loading any hashing package.
 */
export function nameHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}
