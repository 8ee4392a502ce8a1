import { copyFile, chmod, mkdir, mkdtemp, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { ProjectConfig, RemoteCacheConfig } from "../config/index.js";
import { UserInputError } from "../errors.js";
import type { RemoteStore } from "../remote/remote-store.js";
import { makeManifest, type ManifestEntry } from "../store/manifest.js";
import type { Store } from "../store/index.js";
import { tempName } from "../store/atomic.js";

/**
 * `ship: bundle`: a job that has no checkout of the project gets its inputs through the remote
 * cache. The build packs the files a stage's key read, with the config and its plugins, into
 * one tree in the store (the content store's manifest, as a stage output is stored), uploads it,
 * and names it in the job's `--inputs`; `sabuild exec` fetches the tree and unpacks it into a
 * scratch directory to run in. Nothing else of the project travels: whatever a stage reads
 * must be in its key, and the key check on the node guards that (a file the bundle lacks
 * computes another key, or fails the inputs, and the job refuses to run).
 */

/** What `--inputs` carries (base64 JSON): the tree, and how to reach the remote cache before the config is at hand. */
export interface ShippedInputs {
  tree: string;
  /** subagents.yaml's remote_cache block as written (`${VAR}` templates, resolved on the node). */
  remote_cache?: RemoteCacheConfig;
}

export function encodeInputs(inputs: ShippedInputs): string {
  return Buffer.from(JSON.stringify(inputs)).toString("base64");
}

export function decodeInputs(b64: string): ShippedInputs {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
  } catch {
    throw new UserInputError("sabuild exec: --inputs is not base64 JSON");
  }
  const o = parsed as Partial<ShippedInputs> | null;
  if (typeof o !== "object" || o === null || typeof o.tree !== "string" || !/^[0-9a-f]{64}$/.test(o.tree)) throw new UserInputError("sabuild exec: --inputs lacks its tree digest");
  return { tree: o.tree, ...(o.remote_cache ? { remote_cache: o.remote_cache } : {}) };
}

/**
 * Packs and uploads a job's inputs; one tree per distinct set of files (a map stage's jobs
 * share theirs). Throws a UserInputError when a file lies outside the project (a bundle holds
 * project-relative paths only) or changed since the key was computed.
 */
export function inputsPacker(project: ProjectConfig, store: Store, remote: RemoteStore): (files: Record<string, string>) => Promise<string> {
  const packed = new Map<string, Promise<string>>();
  return (files) => {
    const all: Record<string, string | undefined> = { ...files };
    // Read when the project opens, before any stage: the config, and the plugins (their digests are in the keys of the stages they provide).
    for (const abs of [project.file, ...project.plugins]) all[relative(project.root, abs).split(sep).join("/")] ??= undefined;
    const id = JSON.stringify(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, digest]) => [path, digest ?? null]));
    let tree = packed.get(id);
    if (!tree) {
      tree = pack(project, store, remote, all);
      packed.set(id, tree);
      tree.catch(() => packed.delete(id));
    }
    return tree.then((digest) => encodeInputs({ tree: digest, ...(project.remoteCache ? { remote_cache: project.remoteCache } : {}) }));
  };
}

async function pack(project: ProjectConfig, store: Store, remote: RemoteStore, files: Record<string, string | undefined>): Promise<string> {
  const entries: ManifestEntry[] = [];
  for (const [rel, expected] of Object.entries(files)) {
    if (isAbsolute(rel) || rel.split("/").includes("..")) {
      throw new UserInputError(`ship: bundle cannot ship ${rel}: it is outside the project directory`, [
        { file: relative(project.root, project.file), line: 0, column: 0, keyPath: ["executors"], message: `${rel} is outside the project; a bundle holds the project's own files`, hint: "move it into the project, or use ship: checkout with a workdir the nodes share" },
      ]);
    }
    const path = join(project.root, rel);
    // Copied, then adopted: the store takes the copy, the project keeps its file.
    await mkdir(store.cas.tmpDir, { recursive: true });
    const tmp = tempName(store.cas.tmpDir, ".ship");
    await copyFile(path, tmp);
    const mode = (await stat(path)).mode;
    const { digest, size } = await store.cas.adoptFile(tmp);
    if (expected !== undefined && digest !== expected) throw new UserInputError(`${rel} changed while the build ran (its key was computed from another version); build again`);
    entries.push({ path: rel, digest, size, executable: (mode & 0o111) !== 0 });
  }
  const { digest } = await store.cas.putManifest(makeManifest(entries));
  if (!(await remote.uploadTree(digest))) throw new Error(`could not upload the job's inputs (${digest.slice(0, 12)}) to the remote cache${remote.down ? " (unavailable)" : ""}`);
  return digest;
}

/**
 * The job's side: fetches the tree into `store` and unpacks it into a new scratch directory
 * under `base`, writable as a checkout would be. Returns the directory; the caller removes it.
 */
export async function unpackInputs(inputs: ShippedInputs, store: Store, remote: RemoteStore, base: string): Promise<string> {
  if (!(await remote.fetchTree(inputs.tree))) throw new Error(`the job's inputs (${inputs.tree.slice(0, 12)}) are not in the remote cache${remote.down ? " (unavailable)" : ""}`);
  const manifest = await store.cas.readManifest(inputs.tree);
  const dir = await mkdtemp(join(base, "sabuild-inputs-"));
  for (const e of manifest.entries) {
    if (isAbsolute(e.path) || e.path.split("/").includes("..")) throw new Error(`the job's inputs name a path outside their directory: ${e.path}`);
    const target = join(dir, ...e.path.split("/"));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(store.cas.blobPath(e.digest), target);
    await chmod(target, e.executable ? 0o755 : 0o644);
  }
  return dir;
}
