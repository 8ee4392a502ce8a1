import MiniSearch from "minisearch";
import { stemmer } from "stemmer";
import { BM25, type Ranker, type SearchHit } from "./ranker.js";
import type { EntryKind, LibraryEntry } from "./types.js";

/**
 * Fielded BM25 with MiniSearch, Porter-stemmed by `stemmer`. MiniSearch is already our local
 * web-search corpus's index (one full-text library, not two), has no dependencies, ranks with
 * BM25+ with per-field boosts, and serializes to JSON, so the index node stores it and a search
 * loads it without re-analysing 5,000 bodies (docs/libraries.md weighs the alternatives).
 */

/** Field weights: a hit in the name says most about an entry, one in its long body the least. */
const BOOST = { name: 3, description: 2, keywords: 2, category: 1.5, tools: 0.5, body: 1 };

/** Words users type around what they want ("I need something that reviews my PRs"). */
const STOP = new Set(
  ("a an and are as at be but by can could do does for from get has have help how i in into is it its let me my need of on or our please so some something " +
    "that the their them then there these this those to tool use want was we what when which who will with would you your agent skill skills agents subagent").split(" "),
);

/** Stems by word: a library's vocabulary is small next to its word count, and stemming was most of the indexing time. */
const stems = new Map<string, string | null>();

/** Lowercase, drop stop words, stem: the same analysis for entries and queries. */
function analyse(term: string): string | null {
  let stem = stems.get(term);
  if (stem !== undefined) return stem;
  const lower = term.toLowerCase();
  stem = lower.length < 2 || STOP.has(lower) ? null : stemmer(lower);
  if (stems.size < 200_000) stems.set(term, stem);
  return stem;
}

type Doc = { id: string; name: string; kind: EntryKind; library: string; description: string; keywords: string; category: string; tools: string; body: string };
const FIELDS = ["name", "description", "keywords", "category", "tools", "body"];
const STORED = ["name", "kind", "library", "description", "category"];
const options = { fields: FIELDS, storeFields: STORED, processTerm: analyse };

export const bm25Ranker: Ranker = {
  ...BM25,
  build(entries: LibraryEntry[]): string {
    const index = new MiniSearch<Doc>(options);
    index.addAll(
      entries.map((e) => ({
        id: e.id,
        name: e.name,
        kind: e.kind,
        library: e.library,
        description: e.description,
        // A plugin's name says what its items are about as a keyword does ("frontend-design").
        keywords: [...e.keywords, ...(e.plugin ? [e.plugin] : [])].join(" "),
        category: e.category ?? "",
        tools: e.tools.join(" "),
        body: e.body,
      })),
    );
    return JSON.stringify(index);
  },
  load(serialized: string) {
    const index = MiniSearch.loadJSON<Doc>(serialized, options);
    return {
      search(query, { kind, library, limit }) {
        const found = index.search(query, {
          boost: BOOST,
          // Typos in long words only; prefix matching cost a top-1 hit on the relevance set
          // (stemming already joins "tests" and "test"), see docs/libraries.md.
          fuzzy: (term) => (term.length > 6 ? 0.15 : false),
          combineWith: "OR",
          filter: (r) => (!kind || r.kind === kind) && (!library || r.library === library),
        });
        return found.slice(0, limit).map((r): SearchHit => ({
          id: String(r.id),
          name: r.name as string,
          kind: r.kind as EntryKind,
          library: r.library as string,
          description: r.description as string,
          ...(r.category ? { category: r.category as string } : {}),
          score: Math.round(r.score * 1000) / 1000,
          matched: Object.entries(r.match).map(([term, fields]) => ({ term, fields })),
        }));
      },
    };
  },
};
