import type { ResolvedSubagent } from "../config/index.js";
import type { Json } from "../engine/key.js";
import { corpusFiles } from "./corpus.js";

// Apart from provider.ts so that stages' inputs() can key the web settings without loading it.

type WebSettings = NonNullable<ResolvedSubagent["web"]>;

/**
 * What a rollout stage's key records about the web tools: every setting that can change a tool
 * result, with endpoints as written (templates unresolved). Never the API key: it changes who
 * pays, not what comes back.
 */
export function webParams(web: WebSettings): Json {
  const s = web.search;
  const f = web.fetch;
  return {
    // replay answers only from the store; record and live may fetch anew.
    mode: web.mode,
    // serve: whether the corpus's pages answer at base_url at all when nobody else serves them.
    search: s ? { provider: s.provider, base_url: s.base_url ?? null, root: s.root ?? null, max_results: s.max_results, ...(s.serve ? { serve: true } : {}) } : null,
    fetch: f
      ? {
          allow: [...f.allow].sort(),
          max_bytes: f.max_bytes,
          timeout_ms: f.timeout_ms,
          max_redirects: f.max_redirects,
          max_chars: f.max_chars,
          model: f.model ? { base_url: f.model.base_url, model: f.model.model, max_tokens: f.model.max_tokens } : null,
        }
      : null,
  };
}

/** The local search corpus's files: their contents are what WebSearch finds. */
export function webFiles(projectRoot: string, web: WebSettings | undefined): string[] {
  const s = web?.search;
  return s?.provider === "local" && s.root ? corpusFiles(projectRoot, s.root) : [];
}
