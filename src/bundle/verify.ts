import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { computeKey, type KeyPreimage } from "../engine/key.js";
import { err, ok, type Result } from "../result.js";
import { Semaphore } from "../engine/semaphore.js";
import { hashPath } from "../store/hash.js";
import type { ActionResult, Manifest, Store } from "../store/index.js";
import { parseManifest } from "../store/manifest.js";
import { actionResultSchema, blobEntryName, blobsOfResult, BUNDLE_FORMAT, BUNDLE_INDEX, bundleIndexSchema, resultEntryName, type BundleIndex } from "./format.js";

/** An extracted bundle whose every blob and result checked out. */
export interface VerifiedBundle {
  dir: string;
  /** Blobs in the staging directory that some result needs: digest -> size. */
  blobs: Map<string, number>;
  results: ActionResult[];
}

/** Parses sabuild-bundle.json and refuses a format this sabuild does not know. */
export function parseIndex(text: string): Result<BundleIndex, string> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return err(`${BUNDLE_INDEX} is not JSON: ${(e as Error).message}`);
  }
  const parsed = bundleIndexSchema.safeParse(data);
  if (!parsed.success) return err(`${BUNDLE_INDEX} is not a sabuild bundle index: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  if (parsed.data.format !== BUNDLE_FORMAT) {
    return err(`bundle format ${parsed.data.format} (made by sabuild ${parsed.data.sabuild}) is not format ${BUNDLE_FORMAT}, the one this sabuild reads`);
  }
  return ok(parsed.data);
}

/**
 * Checks an extracted bundle before anything reaches the store: each blob hashes to its name,
 * each result is well formed, hashes (its preimage) to its key, and finds all its blobs in the
 * bundle or the store. Every problem is reported, not only the first.
 */
export async function verifyExtracted(store: Store, dir: string): Promise<Result<VerifiedBundle, string[]>> {
  const problems: string[] = [];
  const index = parseIndex(await readFile(join(dir, BUNDLE_INDEX), "utf8").catch(() => ""));
  if (!index.ok) return err([index.error]);

  const staged = new Map<string, number>();
  // Large blobs hash in the worker pool; the cap keeps thousands of small ones from all being
  // open at once.
  const slots = new Semaphore(8);
  await Promise.all(
    (await readdir(join(dir, "cas")).catch(() => [] as string[])).map((digest) =>
      slots.run(async () => {
        const path = join(dir, blobEntryName(digest));
        const { size } = await stat(path);
        const actual = await hashPath(path, size);
        if (actual === digest) staged.set(digest, size);
        else problems.push(`${blobEntryName(digest)}: content does not match its name (its sha256 is ${actual})`);
      }),
    ),
  );

  const results: ActionResult[] = [];
  const resultFiles = (await readdir(join(dir, "ac")).catch(() => [] as string[])).sort();
  for (const name of resultFiles) {
    const key = name.slice(0, -".json".length);
    const checked = await checkResult(store, dir, key, staged);
    if (checked.ok) results.push(checked.value);
    else problems.push(...checked.error.map((p) => `${resultEntryName(key)}: ${p}`));
  }
  const listed = new Set(index.value.results.map((r) => r.key));
  const inBundle = new Set(resultFiles.map((n) => n.slice(0, -".json".length)));
  for (const r of index.value.results) if (!inBundle.has(r.key)) problems.push(`${BUNDLE_INDEX} lists ${r.stage} (${r.key.slice(0, 12)}), but the bundle has no ${resultEntryName(r.key)}`);
  for (const key of inBundle) if (!listed.has(key)) problems.push(`${resultEntryName(key)} is not listed in ${BUNDLE_INDEX}`);
  if (problems.length) return err(problems.sort());

  const needed = new Map<string, number>();
  for (const r of results) {
    const manifest = await readManifestFrom(store, dir, r.output, staged);
    for (const b of blobsOfResult(r, manifest!)) if (staged.has(b.digest)) needed.set(b.digest, staged.get(b.digest)!);
  }
  return ok({ dir, blobs: needed, results });
}

async function checkResult(store: Store, dir: string, key: string, staged: Map<string, number>): Promise<Result<ActionResult, string[]>> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(join(dir, resultEntryName(key)), "utf8"));
  } catch (e) {
    return err([`not JSON: ${(e as Error).message}`]);
  }
  const parsed = actionResultSchema.safeParse(data);
  if (!parsed.success) return err([`not an action result: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`]);
  const result = parsed.data as ActionResult;
  if (result.key !== key) return err([`holds the result of key ${result.key}`]);
  if (computeKey(result.preimage as KeyPreimage) !== key) return err(["its key is not the hash of its preimage"]);
  const manifest = await readManifestFrom(store, dir, result.output, staged);
  if (!manifest) return err([`output manifest ${result.output} is neither in the bundle nor in the store`]);
  const problems: string[] = [];
  for (const b of blobsOfResult(result, manifest)) {
    const size = staged.get(b.digest);
    if (size !== undefined ? b.size === undefined || b.size === size : await store.cas.has(b.digest, b.size)) continue;
    problems.push(`needs blob ${b.digest}${b.size !== undefined ? ` (${b.size} bytes)` : ""}, which is neither in the bundle nor in the store`);
  }
  return problems.length ? err(problems) : ok(result);
}

/** A manifest from the bundle (already verified) or, failing that, from the store. */
async function readManifestFrom(store: Store, dir: string, digest: string, staged: Map<string, number>): Promise<Manifest | undefined> {
  try {
    if (staged.has(digest)) return parseManifest(await readFile(join(dir, blobEntryName(digest)), "utf8"));
    return await store.cas.readManifest(digest);
  } catch {
    return undefined;
  }
}
