import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { hashPath } from "./hash.js";
import { writeFileAtomic } from "./atomic.js";

interface StatEntry {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  digest: string;
}

/**
 * Remembers each file's digest with its (inode, size, mtime, ctime), so an unchanged large file
 * is never read again. Any change of those fields means a rehash, as in git's index.
 */
export class StatCache {
  private entries = new Map<string, StatEntry>();
  private dirty = false;
  /** Number of files actually read and hashed in this process (for benchmarks and tests). */
  rehashed = 0;

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<StatCache> {
    const cache = new StatCache(file);
    try {
      const data = JSON.parse(await readFile(file, "utf8")) as Record<string, StatEntry>;
      for (const [path, entry] of Object.entries(data)) cache.entries.set(path, entry);
    } catch {
      // Missing or unreadable: start empty; it is only an optimisation.
    }
    return cache;
  }

  /** Digest of the file at an absolute path; throws ENOENT when it does not exist. */
  async digest(path: string): Promise<string> {
    // statSync: the common case is a hit, and an async stat costs ~10x more per file.
    const st = statSync(path);
    const known = this.entries.get(path);
    if (
      known &&
      known.ino === st.ino &&
      known.size === st.size &&
      known.mtimeMs === st.mtimeMs &&
      known.ctimeMs === st.ctimeMs
    ) {
      return known.digest;
    }
    const digest = await hashPath(path, st.size);
    this.rehashed++;
    this.entries.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, digest });
    this.dirty = true;
    return digest;
  }

  /** Best effort: a stat cache that cannot be written (read-only store) only costs rehashing. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    try {
      await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)));
      this.dirty = false;
    } catch {
      // Left dirty; the next command hashes again.
    }
  }
}
