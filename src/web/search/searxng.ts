import { ok } from "../../result.js";
import { siteOperators } from "./domains.js";
import { arrayAt, jsonFrom, str } from "./http-json.js";
import type { SearchProvider } from "./types.js";

/**
 * A self-hosted SearXNG: GET <base>/search?q=...&format=json (the instance must list json in
 * search.formats). Results are {title, url, content}. Domain filters travel as site: operators,
 * which the engines behind SearXNG understand.
 */
export function searxngProvider(baseUrl: string): SearchProvider {
  return {
    async search(request, signal) {
      const url = new URL(`${baseUrl.replace(/\/+$/, "")}/search`);
      url.searchParams.set("q", siteOperators(request));
      url.searchParams.set("format", "json");
      url.searchParams.set("pageno", "1");
      const body = await jsonFrom("SearXNG", url.href, { headers: { accept: "application/json" }, ...(signal ? { signal } : {}) });
      if (!body.ok) return body;
      return ok(arrayAt(body.value, "results").map((r) => ({ title: str(r["title"]), url: str(r["url"]), snippet: str(r["content"]) })));
    },
  };
}
