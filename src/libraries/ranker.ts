import type { EntryKind, LibraryEntry } from "./types.js";

/**
 * The seam between search and how it ranks: the `search/libraries:<ranker>` node builds a
 * ranker's serialized index over every library's entries, and `sabuild search` loads it. BM25
 * (bm25.ts) is the one built in; an embedding ranker would be a second implementation (its
 * build embeds each entry, its load a vector search), chosen per project, with no change to the
 * commands or the library nodes.
 */
export interface Ranker {
  /** The node kind and the name commands show (`bm25`). */
  name: string;
  /** Joins the node's key: a change to fields, weights or analysis rebuilds the index. */
  version: string;
  /** The serialized index over the entries (a file of the node's output). */
  build(entries: LibraryEntry[]): string;
  load(serialized: string): LoadedRanker;
}

/** The built-in ranker's identity, apart from its implementation: keys are computed on every plan without loading MiniSearch. */
export const BM25 = { name: "bm25", version: "1" } as const;

export interface LoadedRanker {
  search(query: string, options: SearchOptions): SearchHit[];
}

export interface SearchOptions {
  kind?: EntryKind;
  library?: string;
  limit: number;
}

export interface SearchHit {
  id: string;
  name: string;
  kind: EntryKind;
  library: string;
  description: string;
  category?: string;
  score: number;
  /** Query terms (as analysed: lowercased, stemmed) that matched, each with the fields it matched in. */
  matched: { term: string; fields: string[] }[];
}
