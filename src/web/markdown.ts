import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";
import TurndownService from "turndown";

/**
 * A fetched page as markdown. HTML goes through Readability (Firefox's reader view: the article,
 * without navigation, ads and footers) over a linkedom document, then turndown. linkedom rather
 * than jsdom: Readability only walks the tree, and linkedom parses a page several times faster
 * without a browser environment. Markdown and plain text are returned as they are.
 */
export function pageToMarkdown(body: Buffer, contentType: string, url: string): { markdown: string; title?: string } {
  const text = body.toString("utf8");
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  const isHtml = type === "text/html" || type === "application/xhtml+xml" || (type === "" && /^\s*<(!doctype html|html)/i.test(text));
  if (!isHtml) return { markdown: text };
  const { document } = parseHTML(text);
  // Readability resolves relative links against the document's URL; linkedom has no URL of its own.
  if (!document.querySelector("base")) {
    const base = document.createElement("base");
    base.setAttribute("href", url);
    document.head?.appendChild(base);
  }
  const article = new Readability(document as never, { keepClasses: false }).parse();
  const html = article?.content ?? document.body?.innerHTML ?? text;
  const title = article?.title ?? document.title ?? undefined;
  const markdown = converter().turndown(html).trim();
  return title ? { markdown: `# ${title}\n\n${markdown}`, title } : { markdown };
}

let shared: TurndownService | undefined;

function converter(): TurndownService {
  shared ??= new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced", bulletListMarker: "-" }).remove(["script", "style", "noscript"]);
  return shared;
}
