import type { RecordedResult } from "../tools/types.js";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { resolveTemplate } from "../config/template.js";
import { ToolFailure } from "../tools/define.js";
import { corpusDigest } from "./corpus.js";
import { normaliseQuery, WebRecords, type SearchRecord, type WebRecord } from "./records.js";
import { throughStore } from "./replay.js";
import { domainOf, filterDomains } from "./search/domains.js";
import type { SearchProvider, SearchRequest } from "./search/types.js";

type SearchSettings = NonNullable<NonNullable<ResolvedSubagent["web"]>["search"]>;

export interface SearchToolOptions {
  project: ProjectConfig;
  settings: SearchSettings;
  mode: "record" | "replay" | "live";
  records: WebRecords;
  configKey: string;
}

/** WebSearch's side of the web provider: the configured search, through the store, as text. */
export function searchTool(o: SearchToolOptions): (query: string, options: { allowed_domains?: string[]; blocked_domains?: string[] }, signal?: AbortSignal, recorded?: (r: RecordedResult) => void) => Promise<string> {
  const s = o.settings;
  let provider: Promise<SearchProvider> | undefined;
  let corpus: Promise<string> | undefined;
  return async (query, options, signal, recorded) => {
    const request: SearchRequest = { query, maxResults: s.max_results, ...options };
    // What the provider searched: its endpoint as written, or the local corpus's contents.
    const source = s.provider === "local" ? `corpus:${await (corpus ??= corpusDigest(o.project.root, s.root!))}` : (s.base_url ?? "default");
    const record = await throughStore<SearchRecord, WebRecord>({
      mode: o.mode,
      records: o.records,
      key: {
        kind: "search",
        provider: s.provider,
        source,
        query: normaliseQuery(query),
        allowed_domains: (options.allowed_domains ?? []).map(domainOf).sort(),
        blocked_domains: (options.blocked_domains ?? []).map(domainOf).sort(),
        max_results: s.max_results,
      },
      what: `WebSearch ${JSON.stringify(query)} (${s.provider})`,
      configKey: o.configKey,
      live: async () => {
        const found = await (await (provider ??= open(o))).search(request, signal);
        if (!found.ok) throw new ToolFailure(found.error);
        return { version: 1, kind: "search", provider: s.provider, query, hits: found.value };
      },
      ...(recorded ? { recorded } : {}),
    });
    return formatHits(query, filterDomains(record.hits, request).slice(0, s.max_results));
  };
}

async function open(o: SearchToolOptions): Promise<SearchProvider> {
  const s = o.settings;
  const key = (): string => {
    const r = resolveTemplate(s.api_key ?? "", process.env);
    if (!r.ok) throw new Error(`${o.configKey}.search.api_key: ${r.error} (configured as ${JSON.stringify(s.api_key)}); export it before running sabuild`);
    return r.value;
  };
  const url = (fallback?: string): string => {
    const r = resolveTemplate(s.base_url ?? fallback ?? "", process.env);
    if (!r.ok) throw new Error(`${o.configKey}.search.base_url: ${r.error}`);
    return r.value;
  };
  switch (s.provider) {
    case "searxng":
      return (await import("./search/searxng.js")).searxngProvider(url());
    case "brave": {
      const { braveProvider, BRAVE_URL } = await import("./search/brave.js");
      return braveProvider(url(BRAVE_URL), key());
    }
    case "tavily": {
      const { tavilyProvider, TAVILY_URL } = await import("./search/tavily.js");
      return tavilyProvider(url(TAVILY_URL), key());
    }
    case "local":
      return (await import("./search/local.js")).localProvider(o.project.root, s.root!, s.base_url === undefined ? undefined : url());
  }
}

/** The tool's text: numbered hits with title, URL and snippet. */
export function formatHits(query: string, hits: { title: string; url: string; snippet: string }[]): string {
  if (hits.length === 0) return `Web search results for query: "${query}"\n\nNo results found.`;
  const lines = hits.map((h, i) => `${i + 1}. ${h.title || h.url}\n   ${h.url}${h.snippet ? `\n   ${h.snippet.replace(/\s+/g, " ").trim()}` : ""}`);
  return `Web search results for query: "${query}"\n\n${lines.join("\n\n")}`;
}
