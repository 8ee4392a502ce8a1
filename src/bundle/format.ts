import * as z from "zod";
import { err, ok, type Result } from "../result.js";
import type { ActionResult, Manifest } from "../store/index.js";

/**
 * A bundle is a tar of regular files with relative names only:
 *
 *     sabuild-bundle.json     what is inside (first entry, so a reader learns it before the blobs)
 *     ac/<key>.json           action results, byte for byte as the exporting store held them
 *     cas/<digest>            blobs, named by the sha256 of their content (not sharded)
 */
export const BUNDLE_FORMAT = 1;
export const BUNDLE_INDEX = "sabuild-bundle.json";

const DIGEST_RE = /^[0-9a-f]{64}$/;
const RESULT_ENTRY = /^ac\/([0-9a-f]{64})\.json$/;
const BLOB_ENTRY = /^cas\/([0-9a-f]{64})$/;

export const resultEntryName = (key: string): string => `ac/${key}.json`;
export const blobEntryName = (digest: string): string => `cas/${digest}`;

export interface BundleBlob {
  digest: string;
  size: number;
}

/** One action result in a bundle: a stage's, or one item's of a map stage (`stage[item]`). */
export interface BundleResult {
  stage: string;
  key: string;
  output: string;
  blobs: BundleBlob[];
}

/** The content of sabuild-bundle.json. */
export interface BundleIndex {
  format: number;
  sabuild: string;
  created: string;
  results: BundleResult[];
}

const digest = z.string().regex(DIGEST_RE, "a sha256 digest");

export const bundleIndexSchema = z.object({
  format: z.number(),
  sabuild: z.string(),
  created: z.string(),
  results: z.array(z.object({ stage: z.string(), key: digest, output: digest, blobs: z.array(z.object({ digest, size: z.number().int().nonnegative() })) })),
});

/**
 * An ActionResult as read from an untrusted file. The preimage stays loose (extra fields kept):
 * the importer checks that it hashes to the key, so it must come back byte-equivalent.
 */
export const actionResultSchema = z.object({
  version: z.literal(1),
  key: digest,
  stage: z.string(),
  preimage: z.looseObject({
    kind: z.string(),
    version: z.string(),
    params: z.json(),
    files: z.record(z.string(), z.string()),
    upstream: z.record(z.string(), z.string()),
    toolchain: z.record(z.string(), z.string()),
    item: z.object({ id: z.string(), input: z.string() }).optional(),
  }),
  output: digest,
  log: digest,
  durationMs: z.number(),
  createdAt: z.string(),
  items: z.array(z.object({ id: z.string(), key: digest, output: digest })).optional(),
});

export type BundleEntry = { kind: "index" } | { kind: "result"; key: string } | { kind: "blob"; digest: string };

/**
 * Classifies a tar entry, or says why it is refused. Directories are skipped (undefined): tools
 * that pack a folder add them, and they carry no content.
 */
export function classifyEntry(path: string, type: string, linkpath?: string): Result<BundleEntry | undefined, string> {
  if (/^([/\\]|[A-Za-z]:)/.test(path)) return err("absolute path");
  if (path.split(/[/\\]/).includes("..")) return err('path with a ".." segment');
  if (type === "Directory") return ok(undefined);
  if (type === "SymbolicLink") return err(`symbolic link${linkpath ? ` to ${linkpath}` : ""}`);
  if (type === "Link") return err(`hard link${linkpath ? ` to ${linkpath}` : ""}`);
  if (type !== "File" && type !== "OldFile") return err(`${type} entry: a bundle holds only regular files`);
  // `tar -C dir -cf bundle.tar .` names everything ./…: the same file, so accepted.
  const name = path.replace(/^(\.\/)+/, "");
  if (name === BUNDLE_INDEX) return ok({ kind: "index" });
  const result = RESULT_ENTRY.exec(name);
  if (result) return ok({ kind: "result", key: result[1]! });
  const blob = BLOB_ENTRY.exec(name);
  if (blob) return ok({ kind: "blob", digest: blob[1]! });
  return err(`unexpected name: a bundle holds only ${BUNDLE_INDEX}, ac/<key>.json and cas/<sha256>`);
}

/**
 * Every blob a result needs to count as complete, as gc counts them: its output manifest, its
 * log, its items' manifests and the files the manifest lists (with their sizes).
 */
export function blobsOfResult(result: ActionResult, manifest: Manifest): { digest: string; size?: number }[] {
  return [
    { digest: result.output },
    { digest: result.log },
    ...(result.items ?? []).map((i) => ({ digest: i.output })),
    ...manifest.entries.map((e) => ({ digest: e.digest, size: e.size })),
  ];
}
