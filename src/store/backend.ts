import { existsSync } from "node:fs";
import { copyFile, mkdir, rm, stat } from "node:fs/promises";
import { tempName } from "./atomic.js";
import type { ActionResult, Store } from "./index.js";
import type { RemoteSettings } from "../remote/settings.js";

/**
 * Where action results and the blobs they need are kept and found again: another store
 * directory, the HTTP remote cache, a bundle file. One shared contract suite
 * (tests/contracts/cache-backend.ts) runs against each; a new backend is one adapter here plus
 * passing it. Results move whole: a result never arrives without every blob it needs, and a
 * damaged blob is a miss, never an entry in the receiving store.
 */
export interface CacheBackend {
  readonly name: string;
  /** Keeps `results` (a map stage's item results before the stage's) and every blob they need, read from `from`. */
  put(from: Store, results: readonly ActionResult[]): Promise<void>;
  /**
   * The result of `key`, restored with its blobs (and its items') into `into`; undefined when
   * the backend lacks it or any blob it needs is missing or damaged. Then `into` holds no
   * result for `key`.
   */
  get(key: string, into: Store): Promise<ActionResult | undefined>;
}

/** Every blob a result needs, with its size where the manifest records one (as gc and bundles count them). */
async function neededBlobs(store: Store, result: ActionResult): Promise<{ digest: string; size?: number }[]> {
  const manifest = await store.cas.readManifest(result.output);
  return [{ digest: result.output }, { digest: result.log }, ...(result.items ?? []).map((i) => ({ digest: i.output })), ...manifest.entries.map((e) => ({ digest: e.digest, size: e.size }))];
}

/** Copies one blob between stores, rehashing it on the way: a damaged source blob is refused (false). */
async function copyBlob(from: Store, to: Store, digest: string): Promise<boolean> {
  if (await to.cas.has(digest)) return true;
  if (!(await from.cas.has(digest))) return false;
  await mkdir(to.cas.tmpDir, { recursive: true });
  const tmp = tempName(to.cas.tmpDir, "copy");
  try {
    await copyFile(from.cas.blobPath(digest), tmp);
    const adopted = await to.cas.adoptFile(tmp);
    if (adopted.digest === digest) return true;
    await to.cas.removeBlob(adopted.digest).catch(() => undefined);
    return false;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Copies a result and its items' results with all their blobs; results are written last. */
async function copyResult(from: Store, to: Store, key: string): Promise<ActionResult | undefined> {
  const result = await from.ac.get(key);
  if (!result) return undefined;
  const items: ActionResult[] = [];
  for (const item of result.items ?? []) {
    const r = await from.ac.get(item.key);
    if (!r) return undefined;
    items.push(r);
  }
  for (const r of [...items, result]) {
    const blobs = await neededBlobs(from, r).catch(() => undefined);
    if (!blobs) return undefined;
    for (const b of blobs) if (!(await copyBlob(from, to, b.digest))) return undefined;
  }
  for (const r of [...items, result]) await to.ac.put(r);
  return result;
}

/** Another store directory (a shared cache folder, a second disk) as a backend. */
export function storeBackend(store: Store): CacheBackend {
  return {
    name: `store ${store.root}`,
    async put(from, results) {
      for (const r of results) {
        if (!(await copyResult(from, store, r.key))) throw new Error(`cannot copy the result ${r.key.slice(0, 12)}: it or a blob it needs is missing or damaged in ${from.root}`);
      }
    },
    get: (key, into) => copyResult(store, into, key),
  };
}

/** The HTTP remote cache (src/remote/): uploads and restores through RemoteStore, as builds do. */
export function remoteBackend(settings: RemoteSettings, warn: (text: string) => void = () => {}): CacheBackend {
  const open = async (store: Store) => {
    const { RemoteStore } = await import("../remote/remote-store.js");
    return new RemoteStore(settings, store, warn);
  };
  return {
    name: `remote ${settings.url}`,
    async put(from, results) {
      const remote = await open(from);
      try {
        for (const r of results) await remote.upload(r);
        // RemoteStore absorbs network trouble (a build goes on without it); a put must not.
        if (remote.down) throw new Error(`the remote cache at ${settings.url} is unavailable`);
      } finally {
        remote.close();
      }
    },
    async get(key, into) {
      const remote = await open(into);
      try {
        const hit = await remote.lookup(key);
        return hit && (await remote.restore(hit)) ? into.ac.get(key) : undefined;
      } finally {
        remote.close();
      }
    },
  };
}

/**
 * A bundle file (src/bundle/): put writes it (replacing an earlier one), get imports it whole,
 * as `cache export` and `cache import` do. A bundle that is refused (a damaged blob) is a miss.
 */
export function bundleBackend(file: string, warn: (text: string) => void = () => {}): CacheBackend {
  return {
    name: `bundle ${file}`,
    async put(from, results) {
      const { writeBundle } = await import("../bundle/write.js");
      const collected = [];
      for (const result of results) {
        const blobs = [];
        for (const b of await neededBlobs(from, result)) blobs.push({ digest: b.digest, size: (await stat(from.cas.blobPath(b.digest))).size });
        collected.push({ stage: result.stage, result, blobs });
      }
      await writeBundle(from, collected, file);
    },
    async get(key, into) {
      if (!existsSync(file)) return undefined;
      const { checkBundle, importBundle } = await import("../bundle/import.js");
      const { UserInputError } = await import("../errors.js");
      try {
        await checkBundle(file);
        await importBundle(into, file);
      } catch (e) {
        if (!(e instanceof UserInputError)) throw e;
        warn(e.message);
        return undefined;
      }
      const result = await into.ac.get(key);
      return result && (await into.cas.isComplete(result.output)) ? result : undefined;
    },
  };
}
