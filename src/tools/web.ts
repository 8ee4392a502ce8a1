import { z } from "zod";
import { defineTool, ToolFailure } from "./define.js";
import type { ToolContext, WebProvider } from "./types.js";

const schema = {
  fetch: z.strictObject({
    url: z.url().describe("The URL to fetch content from"),
    prompt: z.string().min(1).describe("What to extract from the fetched page"),
  }),
  search: z
    .strictObject({
      query: z.string().min(2).describe("The search query to use"),
      allowed_domains: z.array(z.string()).optional().describe("Only include search results from these domains"),
      blocked_domains: z.array(z.string()).optional().describe("Never include search results from these domains"),
    })
    .refine((a) => !(a.allowed_domains?.length && a.blocked_domains?.length), "give allowed_domains or blocked_domains, not both"),
};

export const webFetchTool = defineTool({
  name: "WebFetch",
  description: `Fetches a URL and answers a prompt about its content.

- Takes a fully formed URL and a prompt saying what to extract; returns the answer, not the raw page.
- HTTP URLs are upgraded to HTTPS. Read-only.
- Prefer a more specific tool when one fits (e.g. the workspace's own files).`,
  schema: schema.fetch,
  async run(args, ctx) {
    // The provider upgrades http to https (except for hosts the project allow-lists).
    return provider(ctx, "WebFetch").fetch(args.url, args.prompt, ctx.signal, ctx.recorded);
  },
});

export const webSearchTool = defineTool({
  name: "WebSearch",
  description: `Searches the web and returns result titles, URLs and snippets.

- Use it for information beyond what the workspace holds, such as current documentation.
- allowed_domains or blocked_domains narrow the results to or away from sites.`,
  schema: schema.search,
  async run(args, ctx) {
    const options = {
      ...(args.allowed_domains ? { allowed_domains: args.allowed_domains } : {}),
      ...(args.blocked_domains ? { blocked_domains: args.blocked_domains } : {}),
    };
    return provider(ctx, "WebSearch").search(args.query, options, ctx.signal, ctx.recorded);
  },
});

function provider(ctx: ToolContext, tool: string): WebProvider {
  if (ctx.web) return ctx.web;
  throw new ToolFailure(`${tool} is unavailable: this environment has no web access configured. Work from the files in the workspace instead.`);
}
