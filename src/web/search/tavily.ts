import { ok } from "../../result.js";
import { domainOf } from "./domains.js";
import { arrayAt, jsonFrom, str } from "./http-json.js";
import type { SearchProvider } from "./types.js";

export const TAVILY_URL = "https://api.tavily.com";

/**
 * Tavily: POST <base>/search with a JSON body {query, max_results, include_domains,
 * exclude_domains, ...} and the key as a bearer token; results are results[] of
 * {title, url, content, score}.
 */
export function tavilyProvider(baseUrl: string, apiKey: string): SearchProvider {
  return {
    async search(request, signal) {
      const body = {
        query: request.query,
        max_results: Math.min(request.maxResults, 20),
        search_depth: "basic",
        include_answer: false,
        include_raw_content: false,
        include_images: false,
        ...(request.allowed_domains?.length ? { include_domains: request.allowed_domains.map(domainOf) } : {}),
        ...(request.blocked_domains?.length ? { exclude_domains: request.blocked_domains.map(domainOf) } : {}),
      };
      const headers = { accept: "application/json", "content-type": "application/json", authorization: `Bearer ${apiKey}` };
      const answer = await jsonFrom("Tavily", `${baseUrl.replace(/\/+$/, "")}/search`, { method: "POST", headers, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
      if (!answer.ok) return answer;
      return ok(arrayAt(answer.value, "results").map((r) => ({ title: str(r["title"]), url: str(r["url"]), snippet: str(r["content"]) })));
    },
  };
}
