import { join } from "node:path";
import { ActionCache } from "./action-cache.js";
import { ContentStore } from "./content-store.js";
import { StatCache } from "./stat-cache.js";

export { ActionCache, type ActionResult } from "./action-cache.js";
export { ContentStore } from "./content-store.js";
export { StatCache } from "./stat-cache.js";
export type { Manifest, ManifestEntry } from "./manifest.js";

/**
 * The local store: blobs, trees, action results and the stat cache under one directory.
 * Layout (see ARCHITECTURE.md): cas/ ac/ trees/ tmp/ builds/ logs/ stat-cache.json lock
 */
export interface Store {
  root: string;
  cas: ContentStore;
  ac: ActionCache;
  stat: StatCache;
}

export async function openStore(root: string): Promise<Store> {
  return {
    root,
    cas: new ContentStore(root),
    ac: new ActionCache(root),
    stat: await StatCache.open(join(root, "stat-cache.json")),
  };
}
