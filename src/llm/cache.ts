import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalJson, sha256 } from "../engine/key.js";
import { writeFileAtomic } from "../store/atomic.js";
import { ContentStore } from "../store/content-store.js";
import type { ChatMessage, ChatRequest, Usage } from "./types.js";

/** What a cache entry holds: the reply as first received, with what it cost then. */
export interface CachedReply {
  version: 1;
  message: ChatMessage;
  finish_reason: string | null;
  usage: Usage;
  usageEstimated: boolean;
  model: string;
  /** Cost and latency of the original request (a cache hit itself costs nothing). */
  costUsd: number;
  latencyMs: number;
}

/**
 * The key of a request: its body (minus `stream`, which does not change the reply), the
 * endpoint and the salt that tells samples of the same prompt apart. Headers and the API key
 * stay out: they do not change what the model says, and a key must never reach the store.
 */
export function requestKey(baseUrl: string, body: ChatRequest, cacheSalt = ""): string {
  const { stream: _stream, stream_options: _options, ...rest } = body;
  return sha256(canonicalJson({ v: 1, endpoint: baseUrl.replace(/\/+$/, ""), request: rest, salt: cacheSalt }));
}

/**
 * Teacher replies in the content store: each reply is a blob (cas/), and `llm/<2 hex>/<key>`
 * names the blob of a request key. The blob is written before the index entry, both by
 * temp file + rename, so a crash leaves either a complete entry or none; an index entry whose
 * blob is gone (gc, cache verify) is a miss.
 */
export class ResponseCache {
  readonly indexDir: string;
  private readonly cas: ContentStore;

  constructor(readonly storeRoot: string) {
    this.cas = new ContentStore(storeRoot);
    this.indexDir = join(storeRoot, "llm");
  }

  private indexPath(key: string): string {
    return join(this.indexDir, key.slice(0, 2), key);
  }

  async get(key: string): Promise<CachedReply | undefined> {
    try {
      const digest = (await readFile(this.indexPath(key), "utf8")).trim();
      const reply = JSON.parse((await this.cas.readBlob(digest)).toString("utf8")) as CachedReply;
      return reply.version === 1 ? reply : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, reply: CachedReply): Promise<void> {
    const digest = await this.cas.putBytes(canonicalJson(reply));
    await writeFileAtomic(this.indexPath(key), digest);
  }

  /** Blob digests the index refers to: roots for a garbage collector that should keep replies. */
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
