import type { SearchHit, SearchRequest } from "./types.js";

/** A domain as the model wrote it ("https://Docs.Python.org/3/"), reduced to its host. */
export function domainOf(text: string): string {
  const trimmed = text.trim().toLowerCase();
  const host = URL.canParse(trimmed) ? new URL(trimmed).hostname : trimmed.split("/")[0]!;
  return host.replace(/^\*\./, "").replace(/\.$/, "");
}

/** True when host is the domain or one of its subdomains. */
export function inDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/**
 * Keeps the hits allowed_domains / blocked_domains permit. Applied to every provider's answer,
 * also those that filter themselves, so the guarantee does not depend on a provider's reading.
 */
export function filterDomains(hits: SearchHit[], request: SearchRequest): SearchHit[] {
  const allowed = (request.allowed_domains ?? []).map(domainOf);
  const blocked = (request.blocked_domains ?? []).map(domainOf);
  return hits.filter((hit) => {
    const host = URL.canParse(hit.url) ? new URL(hit.url).hostname.toLowerCase() : "";
    if (allowed.length && !allowed.some((d) => inDomain(host, d))) return false;
    return !blocked.some((d) => inDomain(host, d));
  });
}

/** `site:` operators for engines that take them in the query (SearXNG, Brave). */
export function siteOperators(request: SearchRequest): string {
  const allowed = (request.allowed_domains ?? []).map((d) => `site:${domainOf(d)}`);
  const blocked = (request.blocked_domains ?? []).map((d) => `-site:${domainOf(d)}`);
  const include = allowed.length > 1 ? `(${allowed.join(" OR ")})` : allowed.join("");
  return [request.query, include, ...blocked].filter(Boolean).join(" ");
}
