import type { Result } from "../../result.js";

/** One search result as every provider gives it back. */
export interface SearchHit {
  title: string;
  url: string;
  snippet: string;
}

export interface SearchRequest {
  query: string;
  allowed_domains?: string[];
  blocked_domains?: string[];
  maxResults: number;
}

/** A search backend: errors are values (a message the model sees), never thrown. */
export interface SearchProvider {
  search(request: SearchRequest, signal?: AbortSignal): Promise<Result<SearchHit[], string>>;
}
