import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import MiniSearch from "minisearch";
import { parseHTML } from "linkedom";
import { err, ok } from "../../result.js";
import { corpusFiles } from "../corpus.js";
import type { SearchHit, SearchProvider } from "./types.js";

interface Doc {
  id: string;
  title: string;
  text: string;
}

/**
 * Search over a folder of documents (internal docs, a static site, offline use) with MiniSearch:
 * an in-memory full-text index with BM25 ranking, prefix and fuzzy matching, no dependencies and
 * an active maintainer. lunr, the other common choice, has had no release since 2020; a corpus
 * of a few thousand pages indexes in well under a second, so no on-disk index is needed. Result
 * URLs are the files' paths under `baseUrl` (where the folder is served), else file: URLs.
 */
export function localProvider(projectRoot: string, folder: string, baseUrl?: string): SearchProvider {
  let index: Promise<{ search: MiniSearch<Doc>; docs: Map<string, Doc> }> | undefined;
  const open = () => (index ??= build(projectRoot, folder));
  return {
    async search(request) {
      const { search, docs } = await open();
      if (docs.size === 0) return err(`the local search corpus ${folder} holds no documents (.html, .md, .txt)`);
      const found = search.search(request.query, { prefix: true, fuzzy: 0.2, boost: { title: 2 }, combineWith: "OR" });
      const hits: SearchHit[] = found.map((r) => {
        const doc = docs.get(String(r.id))!;
        return { title: doc.title, url: urlOf(projectRoot, folder, doc.id, baseUrl), snippet: snippet(doc.text, r.terms) };
      });
      return ok(hits);
    },
  };
}

async function build(projectRoot: string, folder: string): Promise<{ search: MiniSearch<Doc>; docs: Map<string, Doc> }> {
  const search = new MiniSearch<Doc>({ fields: ["title", "text"], storeFields: [] });
  const docs = new Map<string, Doc>();
  for (const path of corpusFiles(projectRoot, folder)) {
    const content = await readFile(join(projectRoot, path), "utf8");
    const doc = /\.x?html?$/i.test(path) ? fromHtml(path, content) : fromText(path, content);
    docs.set(doc.id, doc);
  }
  search.addAll([...docs.values()]);
  return { search, docs };
}

function fromHtml(id: string, html: string): Doc {
  const { document } = parseHTML(html);
  for (const el of document.querySelectorAll("script, style, noscript, nav")) el.remove();
  // textContent runs blocks together ("asyncio" + "asyncio is..."): a space after each block.
  for (const el of document.querySelectorAll("p, div, li, h1, h2, h3, h4, h5, h6, td, th, dt, dd, pre, br, section, article")) el.after(" ");
  const title = document.title || document.querySelector("h1")?.textContent || id;
  return { id, title: title.trim(), text: (document.body?.textContent ?? "").replace(/\s+/g, " ").trim() };
}

function fromText(id: string, text: string): Doc {
  const heading = /^#\s+(.+)$/m.exec(text)?.[1] ?? /^(.+)\n[=-]{3,}\s*$/m.exec(text)?.[1];
  return { id, title: (heading ?? id).trim(), text: text.replace(/\s+/g, " ").trim() };
}

function urlOf(projectRoot: string, folder: string, path: string, baseUrl?: string): string {
  const inFolder = relative(join(projectRoot, folder), join(projectRoot, path)).split("\\").join("/");
  if (baseUrl) return new URL(inFolder, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).href;
  return new URL(`file://${join(projectRoot, path)}`).href;
}

/** About 300 characters around the first matched term. */
function snippet(text: string, terms: string[]): string {
  const lower = text.toLowerCase();
  const at = Math.min(...terms.map((t) => lower.indexOf(t.toLowerCase())).filter((i) => i >= 0), text.length);
  const start = Math.max(0, (at === text.length ? 0 : at) - 100);
  const cut = text.slice(start, start + 300).trim();
  return `${start > 0 ? "…" : ""}${cut}${start + 300 < text.length ? "…" : ""}`;
}
