import type { RecordedResult } from "../tools/types.js";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { ChatClient } from "../llm/types.js";
import { ToolFailure } from "../tools/define.js";
import { isIP } from "node:net";
import { addressListed, allowList, hostAllowed, type AllowList } from "./address.js";
import { normaliseUrl, WebRecords, type PageRecord, type WebRecord } from "./records.js";
import { throughStore } from "./replay.js";

type FetchSettings = NonNullable<NonNullable<ResolvedSubagent["web"]>["fetch"]>;

/** Bumped when the HTML-to-markdown conversion changes: stored pages of the old one are not reused. */
const CONVERSION_VERSION = "1";

export interface FetchToolOptions {
  project: ProjectConfig;
  settings: FetchSettings;
  mode: "record" | "replay" | "live";
  records: WebRecords;
  configKey: string;
  /** The stage's log: the model client's warnings go there, not to the terminal. */
  log(line: string): void;
  /** The local search corpus's site, when its base_url says where it is served. */
  site?: LocalSite;
}

/** Where a local search corpus is served: its pages there are the corpus's files. */
export interface LocalSite {
  /** The base URL, ending in "/". */
  base: string;
  /** The digest of the corpus's files: a stored page is of the site as it was then. */
  digest(): Promise<string>;
  /** Before a live fetch of one of its pages: starts the server when sabuild serves the site. */
  ready(): Promise<void>;
}

/**
 * WebFetch's side of the web provider, run on the host: the guarded fetch, the page as
 * markdown (stored), and the prompt answered over it by the configured small model, or the
 * markdown itself cut to max_chars when there is none.
 */
export function fetchTool(o: FetchToolOptions): (url: string, prompt: string, signal?: AbortSignal, recorded?: (r: RecordedResult) => void) => Promise<string> {
  const f = o.settings;
  const allow = allowList(f.allow);
  let model: Promise<ChatClient> | undefined;
  return async (rawUrl, prompt, signal, recorded) => {
    if (!URL.canParse(rawUrl)) throw new ToolFailure(`Invalid URL: ${rawUrl}`);
    const url = upgraded(rawUrl, allow);
    const site = o.site && url.startsWith(o.site.base) ? o.site : undefined;
    const page = await throughStore<PageRecord, WebRecord>({
      mode: o.mode,
      records: o.records,
      // A page of the local corpus's site is keyed by the corpus too: an edited page is fetched anew.
      key: { kind: "fetch", url: normaliseUrl(url), max_bytes: f.max_bytes, conversion: CONVERSION_VERSION, ...(site ? { site: await site.digest() } : {}) },
      what: `WebFetch ${url}`,
      configKey: o.configKey,
      live: async () => {
        await site?.ready();
        return livePage(url, f, allow, signal);
      },
      ...(recorded ? { recorded } : {}),
    });
    const header = page.final_url !== page.url ? `Fetched ${page.final_url} (redirected from ${page.url})\n\n` : "";
    if (!f.model) return header + cutMarkdown(page.markdown, f.max_chars);
    const client = await (model ??= openModel(o));
    return header + (await answer(client, f, page, prompt, signal));
  };
}

/**
 * Claude Code upgrades http to https; a host the project allow-lists (a docs server on loopback)
 * is taken at its word, since such servers rarely speak TLS.
 */
function upgraded(url: string, allow: AllowList): string {
  const u = new URL(url);
  if (u.protocol !== "http:") return url;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (hostAllowed(allow, host) || (isIP(host) !== 0 && addressListed(allow, host))) return url;
  u.protocol = "https:";
  return u.href;
}

async function livePage(url: string, f: FetchSettings, allow: AllowList, signal?: AbortSignal): Promise<PageRecord> {
  const { guardedFetch } = await import("./http.js");
  const fetched = await guardedFetch(url, { allow, maxBytes: f.max_bytes, timeoutMs: f.timeout_ms, maxRedirects: f.max_redirects, ...(signal ? { signal } : {}) });
  if (!fetched.ok) throw new ToolFailure(fetched.error.message);
  const type = fetched.value.contentType.split(";")[0]!.trim().toLowerCase();
  if (!isText(type)) throw new ToolFailure(`${fetched.value.url} is ${type} content; WebFetch reads web pages and text, not binary files`);
  const { pageToMarkdown } = await import("./markdown.js");
  const { markdown } = pageToMarkdown(fetched.value.body, fetched.value.contentType, fetched.value.url);
  return { version: 1, kind: "fetch", url, final_url: fetched.value.url, status: fetched.value.status, content_type: fetched.value.contentType, markdown };
}

/** HTML, markdown, text, JSON and XML; a page without a type is sniffed as HTML or taken as text. */
function isText(type: string): boolean {
  return type === "" || type.startsWith("text/") || /^application\/(xhtml\+xml|json|xml|[\w.+-]+\+(json|xml))$/.test(type);
}

/** The markdown cut to the limit, saying so: the model must know it did not see the whole page. */
export function cutMarkdown(markdown: string, maxChars: number): string {
  const note = "[No model is configured to answer the prompt (web.fetch.model): the page's markdown follows";
  if (markdown.length <= maxChars) return `${note}.]\n\n${markdown}`;
  return `${note}, cut at ${maxChars} of ${markdown.length} characters.]\n\n${markdown.slice(0, maxChars)}\n\n[... cut: ${markdown.length - maxChars} more characters]`;
}

async function openModel(o: FetchToolOptions): Promise<ChatClient> {
  const m = o.settings.model!;
  const { createChatClient } = await import("../llm/client.js");
  // Cached in the store like teacher replies: a replayed page gets the same answer without a request.
  return createChatClient({ baseUrl: m.base_url, apiKey: m.api_key, model: m.model, max_tokens: m.max_tokens, temperature: 0, cache: o.project.store, configKey: `${o.configKey}.fetch.model`, warn: o.log });
}

async function answer(client: ChatClient, f: FetchSettings, page: PageRecord, prompt: string, signal?: AbortSignal): Promise<string> {
  const content = page.markdown.length > f.max_chars ? `${page.markdown.slice(0, f.max_chars)}\n\n[... the page goes on for ${page.markdown.length - f.max_chars} more characters]` : page.markdown;
  const request = {
    model: f.model!.model,
    messages: [
      { role: "user" as const, content: `Web page content (${page.final_url}):\n---\n${content}\n---\n\n${prompt}\n\nAnswer from the content above only, concisely; quote exact wording where it matters.` },
    ],
  };
  const result = await client.complete(request, signal ? { signal } : {});
  return result.message.content ?? "";
}
