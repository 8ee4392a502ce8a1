import { ok } from "../../result.js";
import { siteOperators } from "./domains.js";
import { arrayAt, jsonFrom, str } from "./http-json.js";
import type { SearchProvider } from "./types.js";

export const BRAVE_URL = "https://api.search.brave.com";

/**
 * Brave Search API: GET <base>/res/v1/web/search?q=...&count=N with the key in
 * X-Subscription-Token; results are web.results[] of {title, url, description}. Its
 * descriptions carry <strong> highlights, which are dropped.
 */
export function braveProvider(baseUrl: string, apiKey: string): SearchProvider {
  return {
    async search(request, signal) {
      const url = new URL(`${baseUrl.replace(/\/+$/, "")}/res/v1/web/search`);
      url.searchParams.set("q", siteOperators(request));
      // Brave returns at most 20 per page.
      url.searchParams.set("count", String(Math.min(request.maxResults, 20)));
      const headers = { accept: "application/json", "x-subscription-token": apiKey };
      const body = await jsonFrom("Brave", url.href, { headers, ...(signal ? { signal } : {}) });
      if (!body.ok) return body;
      const web = (body.value as { web?: unknown }).web;
      return ok(arrayAt(web, "results").map((r) => ({ title: plain(str(r["title"])), url: str(r["url"]), snippet: plain(str(r["description"])) })));
    },
  };
}

function plain(text: string): string {
  return text.replace(/<\/?strong>/g, "").replace(/&#x27;|&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}
