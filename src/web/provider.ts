import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { ToolFailure } from "../tools/define.js";
import type { WebProvider } from "../tools/types.js";
import { resolve } from "node:path";
import { resolveTemplate } from "../config/template.js";
import { corpusDigest } from "./corpus.js";
import { fetchTool, type LocalSite } from "./fetch-tool.js";
import { WebRecords } from "./records.js";
import { searchTool } from "./search-tool.js";

/**
 * The WebSearch and WebFetch provider of a subagent's rollouts, from its `web` section; none
 * without one (the tools then say they are unavailable). Both run on the host: the sandbox
 * keeps its own network policy. Providers, pages and models open on first use.
 */
export function openWeb(project: ProjectConfig, subagent: ResolvedSubagent, log: (line: string) => void): WebProvider | undefined {
  const web = subagent.web;
  if (!web) return undefined;
  const records = new WebRecords(project.store);
  const configKey = `subagents.${subagent.name}.web`;
  const common = { project, mode: web.mode, records, configKey };
  const search = web.search ? searchTool({ ...common, settings: web.search }) : undefined;
  const site = localSite(project, web.search, log);
  const fetch = web.fetch ? fetchTool({ ...common, settings: web.fetch, log, ...(site ? { site } : {}) }) : undefined;
  return {
    fetch(url, prompt, signal, recorded) {
      if (!fetch) throw new ToolFailure(`WebFetch is unavailable: ${configKey}.fetch is not configured. Work from the search results or the workspace instead.`);
      return fetch(url, prompt, signal, recorded);
    },
    search(query, options, signal, recorded) {
      if (!search) throw new ToolFailure(`WebSearch is unavailable: ${configKey}.search is not configured. Work from the workspace instead.`);
      return search(query, options, signal, recorded);
    },
  };
}

/**
 * The local corpus's site, when base_url says where it is served: its pages are keyed by the
 * corpus's contents, and with `serve` sabuild serves the folder there itself.
 */
function localSite(project: ProjectConfig, search: NonNullable<ResolvedSubagent["web"]>["search"], log: (line: string) => void): LocalSite | undefined {
  if (search?.provider !== "local" || search.root === undefined || search.base_url === undefined) return undefined;
  const url = resolveTemplate(search.base_url, process.env);
  // An unresolved template fails the search with its message; pages cannot be matched to it.
  if (!url.ok || !URL.canParse(url.value)) return undefined;
  const base = new URL(url.value.endsWith("/") ? url.value : `${url.value}/`).href;
  const root = search.root;
  let digest: Promise<string> | undefined;
  return {
    base,
    digest: () => (digest ??= corpusDigest(project.root, root)),
    async ready() {
      if (!search.serve) return;
      const { siteServer } = await import("./site-server.js");
      await siteServer(resolve(project.root, root), base, log).ready();
    },
  };
}
