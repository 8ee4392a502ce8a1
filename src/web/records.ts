import { canonicalJson, sha256, type Json } from "../engine/key.js";
import { KeyedBlobs } from "../store/keyed-blobs.js";
import type { SearchHit } from "./search/types.js";

/** A stored search: the hits as the provider gave them (domain filters applied when formatting). */
export interface SearchRecord {
  version: 1;
  kind: "search";
  provider: string;
  query: string;
  hits: SearchHit[];
}

/** A stored page: its markdown after conversion, and where the redirects ended. */
export interface PageRecord {
  version: 1;
  kind: "fetch";
  url: string;
  final_url: string;
  status: number;
  content_type: string;
  markdown: string;
}

export type WebRecord = SearchRecord | PageRecord;

/** A search's words as a key: Unicode NFC, lower case, one space between words. */
export function normaliseQuery(query: string): string {
  return query.normalize("NFC").toLowerCase().trim().replace(/\s+/g, " ");
}

/** A URL as a key: WHATWG-parsed (case of scheme and host, default port, escapes), fragment dropped. */
export function normaliseUrl(url: string): string {
  const u = new URL(url);
  u.hash = "";
  return u.href;
}

/** The record key of a search or a page: plain data, hashed; never an API key. */
export function recordKey(what: { [key: string]: Json }): string {
  return sha256(canonicalJson({ v: 1, ...what }));
}

/** Web results in the content store, under web/ (see KeyedBlobs). */
export class WebRecords {
  private readonly blobsByKey: KeyedBlobs;

  constructor(storeRoot: string) {
    this.blobsByKey = new KeyedBlobs(storeRoot, "web");
  }

  /** The record and its blob digest, or undefined (missing, or its blob was collected). */
  async get(key: string): Promise<{ record: WebRecord; digest: string } | undefined> {
    const found = await this.blobsByKey.get(key);
    if (!found) return undefined;
    try {
      const record = JSON.parse(found.bytes.toString("utf8")) as WebRecord;
      return record.version === 1 ? { record, digest: found.digest } : undefined;
    } catch {
      return undefined;
    }
  }

  put(key: string, record: WebRecord): Promise<string> {
    return this.blobsByKey.put(key, canonicalJson(record));
  }

  /** Blob digests the index refers to: gc keeps them, since replay depends on them. */
  blobs(): Promise<string[]> {
    return this.blobsByKey.blobs();
  }
}
