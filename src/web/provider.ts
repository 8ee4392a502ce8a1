import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { ToolFailure } from "../tools/define.js";
import type { WebProvider } from "../tools/types.js";
import { fetchTool } from "./fetch-tool.js";
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
  const fetch = web.fetch ? fetchTool({ ...common, settings: web.fetch, log }) : undefined;
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
