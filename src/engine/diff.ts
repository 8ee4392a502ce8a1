import type { Reason } from "./events.js";
import type { KeyPreimage } from "./key.js";
import { canonicalJson } from "./key.js";
import type { LockEntry } from "./lockfile.js";
import { sha256 } from "./key.js";

/** Field-by-field reasons why `now` differs from an earlier preimage (or from a lock entry). */
export function diffPreimage(old: KeyPreimage, now: KeyPreimage): Reason[] {
  const reasons: Reason[] = [];
  if (old.version !== now.version) reasons.push({ type: "version", old: old.version, new: now.version });
  for (const [path, a, b] of diffValues(old.params, now.params, "")) reasons.push({ type: "param", path, old: a, new: b });
  reasons.push(...diffFiles(old.files, now.files));
  reasons.push(...diffUpstream(old.upstream, now.upstream));
  reasons.push(...diffToolchain(old.toolchain, now.toolchain));
  return reasons;
}

export function diffLockEntry(old: LockEntry, now: KeyPreimage): Reason[] {
  const reasons: Reason[] = [];
  if (old.version !== now.version) reasons.push({ type: "version", old: old.version, new: now.version });
  if (old.params !== sha256(canonicalJson(now.params))) reasons.push({ type: "params" });
  reasons.push(...diffFiles(old.files, now.files));
  reasons.push(...diffUpstream(old.upstream, now.upstream));
  reasons.push(...diffToolchain(old.toolchain, now.toolchain));
  return reasons;
}

function diffFiles(a: Record<string, string>, b: Record<string, string>): Reason[] {
  const out: Reason[] = [];
  for (const path of unionKeys(a, b)) {
    if (!(path in a)) out.push({ type: "file", path, change: "added" });
    else if (!(path in b)) out.push({ type: "file", path, change: "removed" });
    else if (a[path] !== b[path]) out.push({ type: "file", path, change: "modified" });
  }
  return out;
}

function diffUpstream(a: Record<string, string>, b: Record<string, string>): Reason[] {
  return unionKeys(a, b)
    .filter((k) => a[k] !== b[k])
    .map((stage) => ({ type: "upstream" as const, stage, old: a[stage], new: b[stage] }));
}

function diffToolchain(a: Record<string, string>, b: Record<string, string>): Reason[] {
  return unionKeys(a, b)
    .filter((k) => a[k] !== b[k])
    .map((name) => ({ type: "toolchain" as const, name, old: a[name], new: b[name] }));
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** Leaf-level differences between two JSON values, as dotted paths. */
function diffValues(a: unknown, b: unknown, path: string): [string, unknown, unknown][] {
  if (isObject(a) && isObject(b)) {
    return unionKeys(a, b).flatMap((k) => diffValues(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return canonicalJson(a ?? null) === canonicalJson(b ?? null) && (a === undefined) === (b === undefined)
    ? []
    : [[path || "(root)", a, b]];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
