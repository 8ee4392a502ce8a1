import { join } from "node:path";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Meter } from "../llm/accounting.js";
import type { ChatClient } from "../llm/types.js";
import type { Trace } from "../traces/types.js";

/**
 * A subagent's local models behind llama-server, as eval and the orchestrator benchmark play
 * them: the student's shipped GGUF, or the untrained base model converted to GGUF.
 */

/** A model server for the student or the base model; stop() ends it. */
export interface ServedModel {
  client: ChatClient;
  model: Trace["model"];
  stop(): Promise<void>;
}

export interface ServeGgufOptions {
  project: ProjectConfig;
  subagent: ResolvedSubagent;
  role: "student" | "base";
  gguf: string;
  /** Names the model in the response cache: the export output's digest (content-addressed), or the base model's. */
  cacheId: string;
  /** Requests served at once (llama-server slots, and the client's concurrency). */
  parallel: number;
  meter: Meter;
  /** The stage that spends, for the meter's labels (`eval:student`, `bench:fix-bugs`). */
  stage: string;
  log(line: string): void;
  signal: AbortSignal;
}

async function llamaTools(project: ProjectConfig, subagent: ResolvedSubagent, log: (line: string) => void, signal: AbortSignal) {
  const { ensureLlamaTools } = await import("../toolchain/llamacpp.js");
  const { trainerPython } = await import("../toolchain/dirs.js");
  return ensureLlamaTools(project.root, subagent.export.tools, { log, signal, python: trainerPython(project.root) });
}

export async function serveGguf(o: ServeGgufOptions): Promise<ServedModel> {
  const { createChatClient } = await import("../llm/client.js");
  const { sha256 } = await import("../engine/key.js");
  const tools = await llamaTools(o.project, o.subagent, o.log, o.signal);
  const file = o.gguf.split("/").pop()!;
  o.log(`${o.role}: serving ${file} with llama-server (${tools.server.where})`);
  const server = await tools.server.start({ model: o.gguf, args: ["--parallel", String(o.parallel)], log: o.log, signal: o.signal });
  const client = createChatClient({
    baseUrl: `${server.url}/v1`,
    apiKey: "",
    model: o.role,
    temperature: 0,
    max_tokens: o.subagent.eval.max_tokens,
    concurrency: o.parallel,
    cache: o.project.store,
    cacheEndpoint: `gguf:${o.role}:${sha256(`${o.cacheId}:${file}`)}`,
    meter: o.meter,
    label: { subagent: o.subagent.name, stage: o.stage },
    retry: { maxRetries: 2 },
    warn: o.log,
  });
  return { client, model: { name: `${o.role}:${file}`, base_url: "llama-server", role: o.role }, stop: () => server.stop() };
}

/** The subagent's base model converted to GGUF under `work`, or why it cannot be (not a local directory). */
export async function baseGguf(
  project: ProjectConfig,
  subagent: ResolvedSubagent,
  work: string,
  outtype: string,
  hooks: { log(line: string): void; signal: AbortSignal },
): Promise<{ ok: true; value: string } | { ok: false; error: string }> {
  const { localModelDir, convertToGguf } = await import("../stages/export.js");
  const dir = localModelDir(project.root, subagent.train.base_model);
  if (!dir) return { ok: false, error: `${subagent.train.base_model} is not a local directory (download it, and set base_model to its path)` };
  const tools = await llamaTools(project, subagent, hooks.log, hooks.signal);
  const out = join(work, `base-${outtype}.gguf`);
  hooks.log(`base: converting ${subagent.train.base_model} to GGUF (${outtype})`);
  await convertToGguf(tools, dir, out, outtype, hooks);
  return { ok: true, value: out };
}
