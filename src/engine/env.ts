import type { EventSink } from "./events.js";
import type { KnownParams } from "./known-params.js";
export type { KnownParams } from "./known-params.js";
import type { Executor, LocalExecutor } from "./executor.js";
import type { LockEntries } from "./lockfile.js";
import type { ActionResult, Store } from "../store/index.js";
import type { EngineNode } from "./types.js";

/** A result the remote cache holds, with what must be downloaded to restore it. */
export interface RemoteHit {
  result: ActionResult;
  items: ActionResult[];
  /** Blobs to download; sizes are 0 where the remote does not say (logs). */
  missing: { digest: string; size: number }[];
  bytes: number;
}

export interface TransferProgress {
  blobs: number;
  totalBlobs: number;
  bytes: number;
  totalBytes: number;
}

/**
 * The shared cache as the engine uses it: look a key up, restore a hit, upload a result.
 * Network trouble is the implementation's to absorb (it turns itself off); the engine only
 * sees misses.
 */
export interface RemoteCache {
  readonly canRead: boolean;
  lookup(key: string): Promise<RemoteHit | undefined>;
  restore(hit: RemoteHit, onProgress?: (p: TransferProgress) => void): Promise<boolean>;
  upload(result: ActionResult, onProgress?: (p: TransferProgress) => void): Promise<void>;
  /** Whether results can be uploaded now (configured readwrite, and reachable so far). */
  readonly canWrite: boolean;
  /** Uploads one output tree (its manifest and blobs) that a remote job reads; false when it could not. */
  uploadTree(digest: string): Promise<boolean>;
}

/** What deciding needs: where input files are, the store, the lock, the remote cache. */
export interface EvalEnv {
  /** The project directory: declared input files are relative to it. */
  root: string;
  store: Store;
  lock: LockEntries;
  /** The last full build verified every output this lock names, and nothing was deleted since. */
  trustLock: boolean;
  /** Params remembered with the trusted lock (store/verified.ts); unset: params are hashed. */
  knownParams?: KnownParams;
  /** The shared remote cache, when one is configured and this run may read it. */
  remote?: RemoteCache;
  /** Extra toolchain identity per node, e.g. the digest of the plugin that provides the stage. */
  toolchainOf(node: EngineNode): Record<string, string>;
}

/** What building adds: where events go, how many jobs at once, cancellation, where work runs. */
export interface BuildEnv extends EvalEnv {
  events: EventSink;
  jobs: number;
  signal: AbortSignal;
  /** Whether the build was interrupted, without making `signal` (when it is made on demand); default: signal.aborted. */
  interrupted?(): boolean;
  /** Runs what no remote executor takes. */
  executor: LocalExecutor;
  /** Where a node runs, when some run elsewhere (`executor:` in subagents.yaml); unset: all local. */
  executorOf?(node: EngineNode): Executor;
}
