import { readFileSync, statSync, type Stats } from "node:fs";
import { hashPath } from "./hash.js";
import { writeFileAtomic } from "./atomic.js";
import type { Json } from "../engine/key.js";

interface StatEntry {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Absent when only facts were asked for since the file last changed. */
  digest?: string;
  /** Values derived from the contents by `remember`, by name. */
  facts?: Record<string, Json>;
}

function sameStat(known: StatEntry | undefined, st: Stats): known is StatEntry {
  return known !== undefined && known.ino === st.ino && known.size === st.size && known.mtimeMs === st.mtimeMs && known.ctimeMs === st.ctimeMs;
}

/** Values derived from a file's contents, remembered while the file is unchanged (StatCache). */
export interface FileFacts {
  /** `valid`: a remembered value it rejects is computed again (it depends on more than this file). */
  remember<T extends Json>(path: string, name: string, compute: () => T, st?: Stats, valid?: (value: T) => boolean): T;
  /** The file's stat, undefined when it does not exist: once per path while stats are held (holdStats). */
  stat?(path: string): Stats | undefined;
}

/**
 * Remembers each file's digest with its (inode, size, mtime, ctime), so an unchanged large file
 * is never read again. Any change of those fields means a rehash, as in git's index.
 */
export class StatCache implements FileFacts {
  private entries = new Map<string, StatEntry>();
  private dirty = false;
  private held: Map<string, Stats | undefined> | undefined;
  /** Number of files actually read and hashed in this process (for benchmarks and tests). */
  rehashed = 0;

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<StatCache> {
    const cache = new StatCache(file);
    try {
      // Sync: it is read once at start, and fs/promises' readFile costs several ms more.
      const data = JSON.parse(readFileSync(file, "utf8")) as Record<string, StatEntry>;
      for (const [path, entry] of Object.entries(data)) cache.entries.set(path, entry);
    } catch {
      // Missing or unreadable: start empty; it is only an optimisation.
    }
    return cache;
  }

  /**
   * Until the returned function is called, each path is statted once: the engine's one-pass
   * decision (engine/decide.ts), where nothing runs, sees every file as it was when first asked.
   * A file that several nodes name (a task file is the input of tasks and eval; the benchmark's
   * sizes file of train and export of every subagent) was statted for each: ~300 stats of a
   * 1,000-stage no-op build, ~3 ms. Held by whoever is not holding already; released by it only.
   */
  holdStats(): () => void {
    if (this.held) return () => {};
    this.held = new Map();
    return () => {
      this.held = undefined;
    };
  }

  stat(path: string): Stats | undefined {
    if (!this.held) return statSync(path, { throwIfNoEntry: false });
    if (this.held.has(path)) return this.held.get(path);
    const st = statSync(path, { throwIfNoEntry: false });
    this.held.set(path, st);
    return st;
  }

  /** The digest remembered for an unchanged file, without a promise (the common case of a no-op); undefined otherwise. */
  knownDigest(path: string): string | undefined {
    const st = this.stat(path);
    const known = this.entries.get(path);
    return st && sameStat(known, st) ? known.digest : undefined;
  }

  /** Digest of the file at an absolute path; throws ENOENT when it does not exist. */
  async digest(path: string): Promise<string> {
    // statSync: the common case is a hit, and an async stat costs ~10x more per file.
    const st = statSync(path);
    const known = this.entries.get(path);
    const same = sameStat(known, st);
    if (same && known.digest !== undefined) return known.digest;
    const digest = await hashPath(path, st.size);
    this.rehashed++;
    this.entries.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, digest, ...(same && known.facts ? { facts: known.facts } : {}) });
    this.dirty = true;
    return digest;
  }

  /**
   * A value that `compute` derives from the file's contents alone (a task file's entry count),
   * remembered by the same rule as the digest: recomputed whenever (inode, size, mtime, ctime)
   * change, so a no-op plan stats the file instead of reading it. `st` is the caller's stat of it.
   */
  remember<T extends Json>(path: string, name: string, compute: () => T, st: Stats = statSync(path), valid?: (value: T) => boolean): T {
    const known = this.entries.get(path);
    if (sameStat(known, st) && known.facts && name in known.facts && (!valid || valid(known.facts[name] as T))) return known.facts[name] as T;
    const value = compute();
    const entry: StatEntry = sameStat(known, st) ? known : { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
    entry.facts = { ...entry.facts, [name]: value };
    this.entries.set(path, entry);
    this.dirty = true;
    return value;
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
