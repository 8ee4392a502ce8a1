import { mkdir, rm, stat } from "node:fs/promises";
import type { RemoteCache, RemoteHit, TransferProgress } from "../engine/env.js";
import { Semaphore } from "../engine/semaphore.js";

export type { RemoteHit, TransferProgress } from "../engine/env.js";
import { tempName } from "../store/atomic.js";
import type { ActionResult, Manifest, Store } from "../store/index.js";
import { HttpCache, RemoteUnavailable } from "./http-cache.js";
import type { RemoteSettings } from "./settings.js";
import { openAction, sealAction } from "./signing.js";

/** A result the remote holds, with what this store lacks to restore it. */
export interface TransferStats {
  fetchedBlobs: number;
  fetchedBytes: number;
  uploadedBlobs: number;
  uploadedBytes: number;
  skippedBlobs: number;
}

const PARALLEL_TRANSFERS = 8;
/** Byte progress is reported at most this often (and whenever a blob finishes). */
const PROGRESS_MS = 250;

/** Where a restore or an upload stands; bytes count blobs found on the server as done. */
/** Counts blobs and bytes, and reports them now and then. */
class ProgressCounter {
  private readonly state: TransferProgress;
  private last = 0;

  constructor(
    totalBlobs: number,
    totalBytes: number,
    private readonly report?: (p: TransferProgress) => void,
  ) {
    this.state = { blobs: 0, totalBlobs, bytes: 0, totalBytes };
  }

  bytes(n: number): void {
    this.state.bytes += n;
    const now = Date.now();
    if (this.report && now - this.last >= PROGRESS_MS) {
      this.last = now;
      this.report({ ...this.state });
    }
  }

  blobDone(): void {
    this.state.blobs++;
    this.last = Date.now();
    this.report?.({ ...this.state });
  }
}

/**
 * The engine's view of the remote cache. Every failure to reach it turns the remote off for the
 * rest of the run, with one warning: a network problem never fails a build. A blob whose digest
 * does not match, or a result whose signature does not, is a miss with a warning. Nothing enters
 * the local store unverified, and results are written after their blobs.
 */
export class RemoteStore implements RemoteCache {
  down = false;
  readonly stats: TransferStats = { fetchedBlobs: 0, fetchedBytes: 0, uploadedBlobs: 0, uploadedBytes: 0, skippedBlobs: 0 };
  private readonly http: HttpCache;
  private readonly transfers = new Semaphore(PARALLEL_TRANSFERS);
  /** Blobs and results this run has seen on the server: a map stage's upload need not ask again about its items. */
  private readonly onServer = new Set<string>();

  constructor(
    readonly settings: RemoteSettings,
    private readonly store: Store,
    public warn: (text: string) => void,
  ) {
    this.http = new HttpCache(settings.url, settings.headers);
  }

  /** Closes the connections kept alive for reuse (for in-process users; a CLI run exits). */
  close(): void {
    this.http.close();
  }

  get canRead(): boolean {
    return !this.down;
  }

  get canWrite(): boolean {
    return !this.down && this.settings.mode === "readwrite";
  }

  private unavailable(e: unknown): undefined {
    if (!(e instanceof RemoteUnavailable)) throw e;
    if (!this.down) this.warn(`remote cache unavailable, going on without it: ${e.message}`);
    this.down = true;
    return undefined;
  }

  /** Looks a key up; fetches the (small) manifests so that it can say what restoring costs. */
  async lookup(key: string): Promise<RemoteHit | undefined> {
    if (this.down) return undefined;
    try {
      const result = await this.action(key);
      if (!result) return undefined;
      const manifest = await this.manifest(result.output);
      if (!manifest) return undefined;
      const found = await Promise.all(
        (result.items ?? []).map((item) =>
          this.transfers.run(async () => {
            const r = await this.action(item.key);
            return r && (await this.manifest(r.output)) ? r : undefined;
          }),
        ),
      );
      const items = found.filter((r): r is ActionResult => r !== undefined);
      const wanted = new Map<string, number>();
      for (const e of manifest.entries) wanted.set(e.digest, e.size);
      for (const r of [result, ...items]) if (!wanted.has(r.log)) wanted.set(r.log, 0);
      const missing: RemoteHit["missing"] = [];
      for (const [digest, size] of wanted) if (!(await this.store.cas.has(digest, size || undefined))) missing.push({ digest, size });
      return { result, items, missing, bytes: missing.reduce((n, m) => n + m.size, 0) };
    } catch (e) {
      return this.unavailable(e);
    }
  }

  /** Downloads what a hit lacks and records its results locally; false when it could not. */
  async restore(hit: RemoteHit, onProgress?: (p: TransferProgress) => void): Promise<boolean> {
    try {
      const progress = new ProgressCounter(hit.missing.length, hit.bytes, onProgress);
      const results = await Promise.all(
        hit.missing.map((m) =>
          this.transfers.run(async () => {
            const ok = await this.fetchBlob(m.digest, m.size, (n) => progress.bytes(n));
            progress.blobDone();
            return ok;
          }),
        ),
      );
      if (results.includes(false)) return false;
      for (const item of hit.items) await this.store.ac.put(item);
      await this.store.ac.put(hit.result);
      return true;
    } catch (e) {
      this.unavailable(e);
      return false;
    }
  }

  /** Uploads a result with its blobs (HEAD first: what the remote has is not sent again), result last. */
  async upload(result: ActionResult, onProgress?: (p: TransferProgress) => void): Promise<void> {
    if (!this.canWrite) return;
    try {
      const items: ActionResult[] = [];
      for (const item of result.items ?? []) {
        const r = await this.store.ac.get(item.key);
        if (r) items.push(r);
      }
      const digests = new Set<string>();
      for (const r of [result, ...items]) {
        digests.add(r.output).add(r.log);
        for (const e of (await this.store.cas.readManifest(r.output)).entries) digests.add(e.digest);
      }
      const sizes = new Map<string, number>();
      for (const d of digests) sizes.set(d, (await stat(this.store.cas.blobPath(d))).size);
      const progress = new ProgressCounter(digests.size, [...sizes.values()].reduce((a, b) => a + b, 0), onProgress);
      await Promise.all(
        [...digests].map((d) =>
          this.transfers.run(async () => {
            await this.uploadBlob(d, sizes.get(d)!, (n) => progress.bytes(n));
            progress.blobDone();
          }),
        ),
      );
      for (const r of [...items, result]) {
        if (this.onServer.has(`ac:${r.key}`)) continue;
        await this.http.putAction(r.key, sealAction(r, this.settings.hmacKey));
        this.onServer.add(`ac:${r.key}`);
      }
    } catch (e) {
      this.unavailable(e);
    }
  }

  /** Uploads an output tree (manifest and blobs) that a remote job reads; false when the remote cannot take it. */
  async uploadTree(digest: string): Promise<boolean> {
    if (!this.canWrite) return false;
    try {
      const digests = [digest, ...(await this.store.cas.readManifest(digest)).entries.map((e) => e.digest)];
      await Promise.all(
        [...new Set(digests)].map((d) => this.transfers.run(async () => this.uploadBlob(d, (await stat(this.store.cas.blobPath(d))).size, () => {}))),
      );
      return true;
    } catch (e) {
      this.unavailable(e);
      return false;
    }
  }

  /** Downloads an output tree by its digest (what a remote job reads); false when the remote lacks part of it. */
  async fetchTree(digest: string): Promise<boolean> {
    if (this.down) return false;
    try {
      const manifest = await this.manifest(digest);
      if (!manifest) return false;
      const got = await Promise.all(manifest.entries.map((e) => this.transfers.run(() => this.fetchBlob(e.digest, e.size))));
      return !got.includes(false) && !this.down;
    } catch (e) {
      this.unavailable(e);
      return false;
    }
  }

  private async action(key: string): Promise<ActionResult | undefined> {
    const data = await this.http.getAction(key);
    if (!data) return undefined;
    const opened = openAction(data, key, this.settings.hmacKey);
    if (!opened.ok) {
      this.warn(`ignoring the remote result ${key.slice(0, 12)}: ${opened.error}`);
      return undefined;
    }
    return opened.value;
  }

  private async manifest(digest: string): Promise<Manifest | undefined> {
    if (!(await this.store.cas.has(digest)) && !(await this.fetchBlob(digest))) return undefined;
    return this.store.cas.readManifest(digest);
  }

  /** Downloads one blob into the store if its content matches its digest. */
  private async fetchBlob(digest: string, size = 0, onBytes?: (n: number) => void): Promise<boolean> {
    if (await this.store.cas.has(digest)) return true;
    await mkdir(this.store.cas.tmpDir, { recursive: true });
    const tmp = tempName(this.store.cas.tmpDir, "fetch");
    try {
      let bytes = 0;
      const got = await this.http.getBlob(
        digest,
        tmp,
        (n) => {
          bytes += n;
          onBytes?.(n);
        },
        size,
      );
      if (got === undefined) {
        this.warn(`the remote cache lacks blob ${digest.slice(0, 12)}; building instead`);
        return false;
      }
      if (got !== digest) {
        this.warn(`blob ${digest.slice(0, 12)} from the remote cache has the wrong content (sha256 ${got.slice(0, 12)}); treating it as a miss`);
        return false;
      }
      await this.store.cas.adoptVerified(tmp, digest);
      this.stats.fetchedBlobs++;
      this.stats.fetchedBytes += bytes;
      return true;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async uploadBlob(digest: string, size: number, onBytes: (n: number) => void): Promise<void> {
    if (this.onServer.has(digest) || (await this.http.hasBlob(digest))) {
      this.onServer.add(digest);
      this.stats.skippedBlobs++;
      onBytes(size);
      return;
    }
    const path = this.store.cas.blobPath(digest);
    await this.http.putBlob(digest, path, size, onBytes);
    this.onServer.add(digest);
    this.stats.uploadedBlobs++;
    this.stats.uploadedBytes += size;
  }
}
