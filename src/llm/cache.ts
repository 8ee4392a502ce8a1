import { canonicalJson, sha256 } from "../engine/key.js";
import { KeyedBlobs } from "../store/keyed-blobs.js";
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

/** Teacher replies in the content store, under llm/ (see KeyedBlobs). */
export class ResponseCache {
  readonly indexDir: string;
  private readonly blobsByKey: KeyedBlobs;

  constructor(readonly storeRoot: string) {
    this.blobsByKey = new KeyedBlobs(storeRoot, "llm");
    this.indexDir = this.blobsByKey.indexDir;
  }

  async get(key: string): Promise<CachedReply | undefined> {
    const found = await this.blobsByKey.get(key);
    if (!found) return undefined;
    try {
      const reply = JSON.parse(found.bytes.toString("utf8")) as CachedReply;
      return reply.version === 1 ? reply : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, reply: CachedReply): Promise<void> {
    await this.blobsByKey.put(key, canonicalJson(reply));
  }

  /** Blob digests the index refers to: roots for a garbage collector that should keep replies. */
  blobs(): Promise<string[]> {
    return this.blobsByKey.blobs();
  }
}
