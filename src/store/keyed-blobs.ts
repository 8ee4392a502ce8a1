import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalJson } from "../engine/key.js";
import { writeFileAtomic } from "./atomic.js";
import { ContentStore } from "./content-store.js";

/**
 * Blobs found by a key of their own rather than by content: `<name>/<2 hex>/<key>` in the store
 * holds the digest of a blob in cas/. Teacher replies (llm/) and web results (web/) live here.
 * The blob is written before the index entry, both by temp file + rename, so a crash leaves a
 * complete entry or none; an entry whose blob is gone (gc, cache verify) is a miss.
 */
export class KeyedBlobs {
  readonly indexDir: string;
  private readonly cas: ContentStore;

  constructor(storeRoot: string, name: string) {
    this.cas = new ContentStore(storeRoot);
    this.indexDir = join(storeRoot, name);
  }

  private indexPath(key: string): string {
    return join(this.indexDir, key.slice(0, 2), key);
  }

  async get(key: string): Promise<{ bytes: Buffer; digest: string } | undefined> {
    try {
      // The entry is 64 bytes and mostly missing (every new request asks first): read in place,
      // not through the thread pool (see writeFileAtomic).
      const digest = readFileSync(this.indexPath(key), "utf8").trim();
      return { bytes: await this.cas.readBlob(digest), digest };
    } catch {
      return undefined;
    }
  }

  async put(key: string, data: string | Uint8Array): Promise<string> {
    const digest = await this.cas.putBytes(data);
    await writeFileAtomic(this.indexPath(key), digest);
    return digest;
  }

  /** Blob digests the index refers to: roots for a garbage collector that should keep them. */
  async blobs(): Promise<string[]> {
    const out: string[] = [];
    for (const shard of await readdir(this.indexDir).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.indexDir, shard)).catch(() => [] as string[])) {
        if (name.startsWith(".")) continue;
        const digest = (await readFile(join(this.indexDir, shard, name), "utf8").catch(() => "")).trim();
        if (/^[0-9a-f]{64}$/.test(digest)) out.push(digest);
      }
    }
    return out;
  }
}

/**
 * Versioned JSON records found by key (web results under web/, MCP results under mcp/): one
 * record per blob, canonical JSON, read back only when its version is the one written now.
 */
export class KeyedRecords<R extends { version: number }> {
  private readonly blobsByKey: KeyedBlobs;

  constructor(storeRoot: string, name: string, private readonly version: number) {
    this.blobsByKey = new KeyedBlobs(storeRoot, name);
  }

  /** The record and its blob digest, or undefined (missing, unreadable, or its blob was collected). */
  async get(key: string): Promise<{ record: R; digest: string } | undefined> {
    const found = await this.blobsByKey.get(key);
    if (!found) return undefined;
    try {
      const record = JSON.parse(found.bytes.toString("utf8")) as R;
      return record.version === this.version ? { record, digest: found.digest } : undefined;
    } catch {
      return undefined;
    }
  }

  put(key: string, record: R): Promise<string> {
    return this.blobsByKey.put(key, canonicalJson(record));
  }

  /** Blob digests the index refers to: gc keeps them, since replay depends on them. */
  blobs(): Promise<string[]> {
    return this.blobsByKey.blobs();
  }
}
