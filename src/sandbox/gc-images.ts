import type { Store } from "../store/index.js";
import { LABEL_MANAGED } from "./cleanup.js";
import { dockerClient, engineError, isNotFound } from "./docker.js";

/**
 * The images sabuild built (labelled sabuild.managed): their size for sandbox.disk_budget, and
 * `sabuild gc --images`, which removes those no result in the store references.
 */

interface ManagedImage {
  id: string;
  tags: string[];
  size: number;
}

async function managedImages(): Promise<ManagedImage[]> {
  const docker = await dockerClient();
  try {
    const list = await docker.listImages({ filters: { label: [`${LABEL_MANAGED}=1`] } });
    return list.map((i) => ({ id: i.Id, tags: (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>"), size: i.Size }));
  } catch (e) {
    throw engineError("cannot list the sandbox images", e);
  }
}

/** Bytes the managed images take, each counted whole (shared layers more than once). */
export async function managedImagesSize(): Promise<number> {
  return (await managedImages()).reduce((sum, i) => sum + i.size, 0);
}

/**
 * Every image id and tag an image.json of a sandbox result names (its own and the recipe image
 * it was built on). A result is a sandbox result when its output holds an image.json, whatever
 * stage wrote it: a plugin's sandbox stage counts too.
 */
export async function referencedImages(store: Store): Promise<Set<string>> {
  const refs = new Set<string>();
  for (const key of await store.ac.keys()) {
    const result = await store.ac.get(key);
    if (!result || result.items) continue;
    const manifest = await store.cas.readManifest(result.output).catch(() => undefined);
    for (const entry of manifest?.entries ?? []) {
      if (!/(^|\/)image\.json$/.test(entry.path)) continue;
      try {
        const image = JSON.parse((await store.cas.readBlob(entry.digest)).toString("utf8")) as { id?: unknown; tag?: unknown; baseImage?: unknown };
        for (const v of [image.id, image.tag, image.baseImage]) if (typeof v === "string" && v) refs.add(v);
      } catch {
        // A blob gone or not JSON references nothing.
      }
    }
  }
  return refs;
}

export interface ImageGcReport {
  removed: { id: string; tags: string[]; size: number }[];
  kept: number;
  /** Images the engine would not remove (a container uses them, or an image is built on them). */
  inUse: { id: string; tags: string[]; why: string }[];
  freedBytes: number;
}

export async function removeUnreferencedImages(refs: Set<string>, dryRun: boolean): Promise<ImageGcReport> {
  const docker = await dockerClient();
  const report: ImageGcReport = { removed: [], kept: 0, inUse: [], freedBytes: 0 };
  // Children before parents: an environment's image before the recipe image it was built on.
  const images = (await managedImages()).sort((a, b) => Number(isRecipeTag(a.tags)) - Number(isRecipeTag(b.tags)));
  for (const image of images) {
    if (refs.has(image.id) || image.tags.some((t) => refs.has(t))) {
      report.kept++;
      continue;
    }
    if (!dryRun) {
      try {
        // By tag first: an image with several tags loses only ours; then the id, unforced.
        for (const tag of image.tags) await docker.getImage(tag).remove();
        await docker.getImage(image.id).remove().catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      } catch (e) {
        report.inUse.push({ id: image.id, tags: image.tags, why: (e as { json?: { message?: string } }).json?.message ?? (e as Error).message });
        continue;
      }
    }
    report.removed.push(image);
    report.freedBytes += image.size;
  }
  return report;
}

function isRecipeTag(tags: string[]): boolean {
  return !tags.some((t) => t.startsWith("sabuild/env-"));
}
