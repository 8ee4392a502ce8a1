import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ResolvedBenchmark } from "../../config/benchmark-schema.js";
import type { ProjectConfig } from "../../config/index.js";
import { resolveEndpoint } from "../../llm/endpoint.js";
import { standinEndpoint } from "../../llm/teacher-params.js";
import { standinFor } from "../../llm/teacher.js";
import { startMessagesStandin, type MessagesPolicy, type MessagesStandin } from "../../standin/messages.js";

/** Where a CLI orchestrator's requests go, as its socket proxy on the host sees it. */
export interface CliEndpoint {
  upstream: string;
  /** The real key, held by the proxy only ("" for a stand-in). */
  apiKey: string;
  /** For traces: the endpoint as configured, or standin:<policy> (the report labels it a stand-in). */
  identity: string;
  close(): Promise<void>;
}

/**
 * The configured endpoint (its key resolved now, in this process only), or with `standin` a
 * scripted stand-in on loopback: Claude Code gets one speaking Anthropic's Messages API; a
 * command, like every other teacher-shaped endpoint, the OpenAI-compatible one.
 */
export async function openCliEndpoint(project: ProjectConfig, b: ResolvedBenchmark, log: (line: string) => void): Promise<CliEndpoint> {
  const o = b.orchestrator;
  if (o.standin) {
    log(`note: the main agent's model is a scripted stand-in (${o.standin}), not a model: for offline examples and tests`);
    if (o.kind === "claude-code") {
      const standin = await messagesStandin(project, o.standin);
      return { upstream: standin.url, apiKey: "", identity: standinEndpoint(o.standin), close: () => standin.close() };
    }
    // Shared with the process's other stages: never closed here.
    const standin = await standinFor(project, o.standin);
    return { upstream: standin.url, apiKey: "", identity: standinEndpoint(o.standin), close: async () => undefined };
  }
  const e = resolveEndpoint({ baseUrl: o.base_url, apiKey: o.api_key, configKey: `benchmarks.${b.name}.orchestrator` });
  return { upstream: e.baseUrl, apiKey: e.apiKey, identity: o.base_url, close: async () => undefined };
}

async function messagesStandin(project: ProjectConfig, rel: string): Promise<MessagesStandin> {
  let mod: { policy?: MessagesPolicy; default?: MessagesPolicy };
  try {
    mod = (await import(pathToFileURL(resolve(project.root, rel)).href)) as typeof mod;
  } catch (e) {
    throw new Error(`orchestrator.standin: cannot load the policy module ${rel}: ${(e as Error).message}`);
  }
  const policy = mod.policy ?? mod.default;
  if (typeof policy !== "function") throw new Error(`orchestrator.standin: ${rel} must export a function named policy (or a default export)`);
  return startMessagesStandin({ policy });
}
