import { canonicalJson, sha256, type Json } from "../engine/key.js";
import type { RecordedResult } from "../tools/types.js";
import { recordKey } from "./records.js";

export type WebMode = "record" | "replay" | "live";

/**
 * A web result that could not be replayed. Not a tool failure the model sees: a replayed build
 * must not quietly differ from the recorded one, so the rollout fails and says what to do.
 */
export class ReplayMissError extends Error {
  constructor(what: string, modeKey: string) {
    super(`${modeKey} is replay and the store holds no recorded result for ${what}; build once with mode: record (or live) to record it, or restore the store that holds it`);
    this.name = "ReplayMissError";
  }
}

/** Records by key in the store: WebRecords (web/), McpRecords (mcp/). */
export interface KeyedRecords<R> {
  get(key: string): Promise<{ record: R; digest: string } | undefined>;
  put(key: string, record: R): Promise<string>;
}

/**
 * One web (or MCP) call under the configured mode. record: the stored result when there is one, else
 * live and stored (the same call gets the same result across rollouts, so teacher and student
 * see the same pages in eval); replay: stored only; live: always live, nothing stored.
 */
export async function throughStore<R, S = R>(o: {
  mode: WebMode;
  records: KeyedRecords<S>;
  key: { [key: string]: Json };
  what: string;
  /** The setting a replay miss names: `<configKey>.mode` unless modeKey says otherwise. */
  configKey: string;
  modeKey?: string;
  /** What the trace calls the result; by default search or fetch, from the key's kind. */
  kind?: RecordedResult["kind"];
  live(): Promise<R & S>;
  /** Told which record the call used (key and content digest), for the trace. */
  recorded?: (r: RecordedResult) => void;
}): Promise<R> {
  const key = recordKey(o.key);
  const kind = o.kind ?? (o.key.kind === "search" ? "search" : "fetch");
  if (o.mode === "live") {
    const record = await o.live();
    // Not stored, but digested as the store would, so a live trace still names what it saw.
    o.recorded?.({ kind, key, digest: sha256(canonicalJson(record)), from: "live" });
    return record;
  }
  const stored = await o.records.get(key);
  if (stored) {
    o.recorded?.({ kind, key, digest: stored.digest, from: "stored" });
    return stored.record as R & S;
  }
  if (o.mode === "replay") throw new ReplayMissError(o.what, o.modeKey ?? `${o.configKey}.mode`);
  const record = await o.live();
  const digest = await o.records.put(key, record);
  o.recorded?.({ kind, key, digest, from: "live" });
  return record;
}
