import { canonicalJson, sha256, type Json } from "../engine/key.js";
import { KeyedRecords } from "../store/keyed-blobs.js";
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
export class WebRecords extends KeyedRecords<WebRecord> {
  constructor(storeRoot: string) {
    super(storeRoot, "web", 1);
  }
}
