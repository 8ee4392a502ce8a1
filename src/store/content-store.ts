import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { chmod, copyFile, link, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { hashBytes, hashPath } from "./hash.js";
import { tempName, writeFileAtomic } from "./atomic.js";
import { invalidateVerified } from "./verified.js";
import { makeManifest, parseManifest, serializeManifest, type Manifest, type ManifestEntry } from "./manifest.js";

const DIGEST = /^[0-9a-f]{64}$/;

/**
 * Content-addressed blobs under `cas/<2 hex>/<sha256>`, directory manifests stored as blobs,
 * and materialised trees under `trees/<manifest digest>/` made of hard links to the blobs.
 */
export class ContentStore {
  readonly casDir: string;
  readonly treesDir: string;
  readonly tmpDir: string;
  private readonly manifests = new Map<string, Manifest>();

  constructor(readonly root: string) {
    this.casDir = join(root, "cas");
    this.treesDir = join(root, "trees");
    this.tmpDir = join(root, "tmp");
  }

  blobPath(digest: string): string {
    if (!DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.casDir, digest.slice(0, 2), digest);
  }

  treePath(manifestDigest: string): string {
    return join(this.treesDir, manifestDigest);
  }

  /** Synchronous on purpose: a no-op build checks thousands of blobs, each a cheap stat. */
  async has(digest: string, size?: number): Promise<boolean> {
    const st = statSync(this.blobPath(digest), { throwIfNoEntry: false });
    return st !== undefined && (size === undefined || st.size === size);
  }

  async putBytes(data: string | Uint8Array): Promise<string> {
    const digest = await hashBytes(data);
    if (!(await this.has(digest))) await writeFileAtomic(this.blobPath(digest), data);
    return digest;
  }

  /**
   * Moves a file that the caller owns (a staging output) into the store. Renaming instead of
   * copying keeps multi-GB artifacts from being written twice.
   */
  async adoptFile(path: string): Promise<{ digest: string; size: number }> {
    // Metadata calls made in place: each is microseconds, and through fs/promises a thread-pool
    // round trip that costs more than the call (a benchmark item adopts its trace this way).
    const st = statSync(path);
    const digest = await hashPath(path, st.size);
    const dest = this.blobPath(digest);
    if (await this.has(digest, st.size)) {
      rmSync(path, { force: true });
    } else {
      mkdirSync(dirname(dest), { recursive: true });
      chmodSync(path, 0o444);
      renameSync(path, dest);
    }
    return { digest, size: st.size };
  }

  /** Installs a file whose content the caller has already checked against `digest`. */
  async adoptVerified(path: string, digest: string): Promise<void> {
    const dest = this.blobPath(digest);
    await mkdir(dirname(dest), { recursive: true });
    await chmod(path, 0o444);
    await rename(path, dest);
  }

  async readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  /** Stores every file of a staging directory (consuming it) and returns the manifest's digest. */
  async adoptTree(dir: string): Promise<{ digest: string; manifest: Manifest }> {
    const entries: ManifestEntry[] = [];
    for (const file of await listFiles(dir)) {
      const st = statSync(file);
      const { digest, size } = await this.adoptFile(file);
      entries.push({ path: relative(dir, file).split(sep).join("/"), digest, size, executable: (st.mode & 0o111) !== 0 });
    }
    return this.putManifest(makeManifest(entries));
  }

  async putManifest(manifest: Manifest): Promise<{ digest: string; manifest: Manifest }> {
    const digest = await this.putBytes(serializeManifest(manifest));
    return { digest, manifest };
  }

  /** Manifests are immutable (named by their digest), so each is parsed once per process. */
  async readManifest(digest: string): Promise<Manifest> {
    let m = this.manifests.get(digest);
    if (!m) {
      m = parseManifest(readFileSync(this.blobPath(digest), "utf8"));
      this.manifests.set(digest, m);
    }
    return m;
  }

  /** True when the manifest and every blob it names are present with the recorded sizes. */
  async isComplete(manifestDigest: string): Promise<boolean> {
    let manifest: Manifest;
    try {
      manifest = await this.readManifest(manifestDigest);
    } catch {
      return false;
    }
    for (const e of manifest.entries) if (!(await this.has(e.digest, e.size))) return false;
    return true;
  }

  /** A read-only directory holding the manifest's files, built once (hard links, copy as fallback). */
  async materialize(manifestDigest: string): Promise<string> {
    const dest = this.treePath(manifestDigest);
    // A tree only ever appears by renaming a complete temp dir, so existing means complete.
    if (await exists(dest)) return dest;
    const manifest = await this.readManifest(manifestDigest);
    await mkdir(this.treesDir, { recursive: true });
    const tmp = tempName(this.treesDir);
    await mkdir(tmp, { recursive: true });
    try {
      for (const e of manifest.entries) {
        const target = join(tmp, ...e.path.split("/"));
        await mkdir(dirname(target), { recursive: true });
        await linkOrCopy(this.blobPath(e.digest), target);
      }
      await rename(tmp, dest).catch(async (e: NodeJS.ErrnoException) => {
        // Another process materialised the same tree first: theirs is identical.
        if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e;
        await rm(tmp, { recursive: true, force: true });
      });
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return dest;
  }

  /** Every blob digest present in the store. */
  async listBlobs(): Promise<string[]> {
    const out: string[] = [];
    for (const shard of await readdirSafe(this.casDir)) {
      for (const name of await readdirSafe(join(this.casDir, shard))) if (DIGEST.test(name)) out.push(name);
    }
    return out;
  }

  /** Rehashes a blob; false when its content no longer matches its name. */
  async verifyBlob(digest: string): Promise<boolean> {
    return (await hashPath(this.blobPath(digest))) === digest;
  }

  async removeBlob(digest: string): Promise<void> {
    invalidateVerified(this.root);
    this.manifests.delete(digest);
    await rm(this.blobPath(digest), { force: true });
  }
}

async function linkOrCopy(src: string, dest: string): Promise<void> {
  try {
    await link(src, dest);
  } catch {
    await copyFile(src, dest);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** All regular files below a directory, depth first, sorted for determinism. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const ent of entries) {
    const full = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...(await listFiles(full)));
    else if (ent.isFile()) out.push(full);
  }
  return out;
}
