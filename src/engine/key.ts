import { createHash } from "node:crypto";

/**
 * A JSON value that can go into a key preimage. `undefined` is not allowed: an absent input
 * must be absent from the object, so that "unset" and "set to undefined" hash the same.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with object keys sorted at every depth and no whitespace: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value, "$"));
}

function sortDeep(value: unknown, where: string): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`non-finite number in key preimage at ${where}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => sortDeep(v, `${where}[${i}]`));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      out[k] = sortDeep(v, `${where}.${k}`);
    }
    return out;
  }
  throw new Error(`unsupported ${typeof value} in key preimage at ${where}`);
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Everything a stage's output may depend on. Plain data first, then a hash: the preimage is
 * stored with the result so `explain` can diff it field by field against a new one.
 */
export interface KeyPreimage {
  /** Stage kind, e.g. "tasks": two kinds never share results. */
  kind: string;
  /** Code version of the stage implementation: bumping it invalidates old results. */
  version: string;
  /** Resolved parameter values (secrets excluded: only their `${VAR}` template is here). */
  params: Json;
  /** Content digests of input files, by path relative to the project root. */
  files: Record<string, string>;
  /** Output digests of upstream stages, by stage kind: a rebuild with equal output stops here. */
  upstream: Record<string, string>;
  /** Identities of external tools (image digests, package versions). */
  toolchain: Record<string, string>;
  /** For one item of a map stage: the item's id, its own input digest and the output digests of the upstream items it needs. */
  item?: { id: string; input: string; needs?: Record<string, string> };
}

export function computeKey(preimage: KeyPreimage): string {
  return sha256(canonicalJson(preimage));
}

/**
 * One item of a map stage keeps every upstream output digest but the one its items fan out
 * over (`over`): the item's own input stands in for that one. So adding 50 tasks runs 50 items
 * and nothing else, while a changed prompt, tool list or image (other upstreams) reruns them
 * all. With no `over`, nothing is dropped: an item can never reuse a result of other inputs.
 * Several upstreams may be named (traces fan out over tasks and the environments they run in):
 * the item's input must then carry its share of each, e.g. the digest of its environment's image.
 */
export function itemPreimage(stage: KeyPreimage, item: { id: string; input: Json }, over?: string | readonly string[], needs?: Record<string, string>): KeyPreimage {
  const dropped = new Set(overNames(over));
  const upstream = Object.fromEntries(Object.entries(stage.upstream).filter(([name]) => !dropped.has(name)));
  // The outputs of the upstream items it needs (by upstream name) stand for its share of those upstreams.
  const needed = needs && Object.keys(needs).length ? { needs } : {};
  return { ...stage, upstream, item: { id: item.id, input: sha256(canonicalJson(item.input)), ...needed } };
}

/** The upstream names a map stage's items fan out over. */
export function overNames(over?: string | readonly string[]): string[] {
  return typeof over === "string" ? [over] : [...(over ?? [])];
}
