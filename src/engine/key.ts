import { nodeCrypto } from "../builtin.js";

type Sha256 = (data: string | Uint8Array) => string;
let hashOf: Sha256 | undefined;

/**
 * node:crypto loads at the first hash, not with this module: loading it costs ~10 ms, and a
 * no-op build of a verified lock hashes nothing (engine/lock-key.ts compares params as text).
 */
function loadSha256(): Sha256 {
  const crypto = nodeCrypto();
  // The one-shot hash (Node >= 21.7) skips the Hash object a build would make ~2,000 times.
  const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }).hash;
  return oneShot ? (data) => oneShot("sha256", data, "hex") : (data) => crypto.createHash("sha256").update(data).digest("hex");
}

/**
 * A JSON value that can go into a key preimage. `undefined` is not allowed: an absent input
 * must be absent from the object, so that "unset" and "set to undefined" hash the same.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * JSON with object keys sorted at every depth and no whitespace: equal values, equal text.
 * Written in one pass (the text JSON.stringify would give for a key-sorted copy), without
 * building that copy: a no-op build serialises ~1,000 preimages, and the copies were garbage.
 */
export function canonicalJson(value: unknown): string {
  const text = writeCanonical(value);
  if (text === undefined) throw new Error(unsupportedAt(value, "$") ?? "unsupported value in key preimage");
  return text;
}

/** The canonical text, or undefined when something in it has no JSON form (see unsupportedAt). */
function writeCanonical(value: unknown): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case "object": {
      let out: string;
      if (Array.isArray(value)) {
        out = "[";
        for (let i = 0; i < value.length; i++) {
          // A hole reads as null, as JSON.stringify writes it.
          const v = i in value ? writeCanonical(value[i]) : "null";
          if (v === undefined) return undefined;
          out += i ? `,${v}` : v;
        }
        return `${out}]`;
      }
      out = "{";
      for (const k of jsonKeyOrder(Object.keys(value).sort())) {
        const field = (value as Record<string, unknown>)[k];
        if (field === undefined) continue;
        const v = writeCanonical(field);
        if (v === undefined) return undefined;
        out += `${out.length > 1 ? "," : ""}${JSON.stringify(k)}:${v}`;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}

/** Why a value has no canonical text, with the path to the culprit; only walked on that error. */
function unsupportedAt(value: unknown, where: string): string | undefined {
  if (typeof value === "number" && !Number.isFinite(value)) return `non-finite number in key preimage at ${where}`;
  if (value === null || typeof value === "string" || typeof value === "boolean" || typeof value === "number") return undefined;
  if (typeof value !== "object") return `unsupported ${typeof value} in key preimage at ${where}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = i in value ? unsupportedAt(value[i], `${where}[${i}]`) : undefined;
      if (found) return found;
    }
    return undefined;
  }
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    const found = v === undefined ? undefined : unsupportedAt(v, `${where}.${k}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * The order JSON.stringify writes a key-sorted object in: JavaScript enumerates array-index
 * keys ("2", "10") first, numerically, then the others in insertion (here: sorted) order. Keys
 * hashed before this serialiser existed were written that way, and must stay equal.
 */
function jsonKeyOrder(sorted: string[]): string[] {
  if (!sorted.some(isArrayIndex)) return sorted;
  return [...sorted.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b)), ...sorted.filter((k) => !isArrayIndex(k))];
}

function isArrayIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(?:0|[1-9]\d{0,9})$/.test(k) && Number(k) < 4294967295;
}

export function sha256(data: string | Uint8Array): string {
  return (hashOf ??= loadSha256())(data);
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
export function itemPreimage(
  stage: KeyPreimage,
  item: { id: string; input: Json },
  over?: string | readonly string[],
  needs?: Record<string, string>,
  overFiles?: readonly string[],
  overParams?: readonly string[],
): KeyPreimage {
  const dropped = new Set(overNames(over));
  const upstream = Object.fromEntries(Object.entries(stage.upstream).filter(([name]) => !dropped.has(name)));
  // Files the items fan out over reach an item through its input (the digests of those it reads).
  const droppedFiles = new Set(overFiles ?? []);
  const files = droppedFiles.size ? Object.fromEntries(Object.entries(stage.files).filter(([path]) => !droppedFiles.has(path))) : stage.files;
  // The outputs of the upstream items it needs (by upstream name) stand for its share of those upstreams.
  const needed = needs && Object.keys(needs).length ? { needs } : {};
  // Params the items fan out over reach an item through its input too.
  const params = overParams?.length && isRecord(stage.params) ? Object.fromEntries(Object.entries(stage.params).filter(([k]) => !overParams.includes(k))) : stage.params;
  return { ...stage, params, files, upstream, item: { id: item.id, input: sha256(canonicalJson(item.input)), ...needed } };
}

function isRecord(v: Json): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The upstream names a map stage's items fan out over. */
export function overNames(over?: string | readonly string[]): string[] {
  return typeof over === "string" ? [over] : [...(over ?? [])];
}
