import { existsSync, readFileSync } from "node:fs";
import { readdir, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { invalidateVerified } from "./verified.js";
import type { KeyPreimage } from "../engine/key.js";

/** What the store remembers about one executed stage (or one item of a map stage). */
export interface ActionResult {
  version: 1;
  key: string;
  /** `<subagent>:<stage>` or `<subagent>:<stage>[<item>]` that produced it (informational). */
  stage: string;
  /** The full key preimage, for `explain`. */
  preimage: KeyPreimage;
  /** Digest of the output manifest. */
  output: string;
  /** Digest of the captured log blob. */
  log: string;
  durationMs: number;
  createdAt: string;
  /** For a map stage: the item results it was assembled from. */
  items?: { id: string; key: string; output: string }[];
}

/** Action results under `ac/<2 hex>/<key>.json`, written atomically, touched on use for LRU gc. */
export class ActionCache {
  readonly dir: string;

  constructor(private readonly storeRoot: string) {
    this.dir = join(storeRoot, "ac");
  }

  path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** Reads synchronously: entries are small, and a no-op build reads hundreds of them. */
  async get(key: string): Promise<ActionResult | undefined> {
    try {
      const result = JSON.parse(readFileSync(this.path(key), "utf8")) as ActionResult;
      return result.version === 1 && result.key === key ? result : undefined;
    } catch {
      return undefined;
    }
  }

  has(key: string): boolean {
    return existsSync(this.path(key));
  }

  async put(result: ActionResult): Promise<void> {
    await writeFileAtomic(this.path(result.key), `${JSON.stringify(result, null, 1)}\n`);
  }

  /** Marks an entry as used now, so size-capped gc evicts least recently used ones first. */
  async touch(key: string): Promise<void> {
    const now = new Date();
    await utimes(this.path(key), now, now).catch(() => undefined);
  }

  async delete(key: string): Promise<void> {
    invalidateVerified(this.storeRoot);
    await rm(this.path(key), { force: true });
  }

  async keys(): Promise<string[]> {
    const out: string[] = [];
    for (const shard of await readdir(this.dir).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.dir, shard)).catch(() => [] as string[])) {
        if (name.endsWith(".json")) out.push(name.slice(0, -5));
      }
    }
    return out;
  }
}
