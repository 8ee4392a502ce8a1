import type { BuildEnv, RemoteCache } from "./env.js";
import type { ExecOrder, RemoteExecutor, TaskEnd } from "./executor.js";
import type { ActionResult } from "../store/index.js";
import type { KeyPreimage } from "./key.js";
import type { EngineNode } from "./types.js";

/**
 * Work a remote executor runs: the engine ships what the job reads to the remote cache,
 * submits, waits, and takes the results back from the remote cache as it would take any
 * result built elsewhere. A job that ended without leaving its result there failed.
 */

/** Items submitted within this long of each other go into one job (one array, one Ray driver). */
const BATCH_MS = 150;
/** How often the build looks for items a running task has already uploaded (slices of several items). */
const ITEM_POLL_MS = 2000;

function writableRemote(env: BuildEnv, executor: RemoteExecutor): RemoteCache {
  if (!env.remote?.canWrite) throw new Error(`executor ${executor.name} needs a read-write remote cache, and ${env.remote ? "it is unavailable or read-only" : "none is configured"}`);
  return env.remote;
}

async function ship(remote: RemoteCache, digests: Iterable<string>): Promise<void> {
  for (const d of new Set(digests)) if (!(await remote.uploadTree(d))) throw new Error(`could not upload an input of the job (${d.slice(0, 12)}) to the remote cache`);
}

/** Restores a result a job uploaded; throws why there is none. */
async function fetchResult(env: BuildEnv, key: string, task: string): Promise<ActionResult> {
  const remote = env.remote!;
  const hit = await remote.lookup(key);
  if (!hit) throw new Error(`${task} ended, but the remote cache has no result for its key ${key.slice(0, 12)}${remote.canRead ? "" : " (the remote cache is unavailable)"}`);
  if (!(await remote.restore(hit))) throw new Error(`${task}: its result could not be restored from the remote cache`);
  return hit.result;
}

/** A plain stage run by a remote executor: one task, its result restored into the store. */
export async function runStageRemotely(env: BuildEnv, executor: RemoteExecutor, node: EngineNode, preimage: KeyPreimage, key: string, log: (line: string) => void): Promise<ActionResult> {
  const remote = writableRemote(env, executor);
  const { upstream, files } = preimage;
  await ship(remote, Object.values(upstream));
  const [task] = executor.submit({ node: node.id, key, order: { upstream }, slices: [[]], files }, env.signal, log);
  const end = await task!;
  env.signal.throwIfAborted();
  if (!end.ok) throw new Error(end.message);
  return fetchResult(env, key, `${executor.name} task ${end.id}`);
}

/**
 * A map stage's items for a remote executor, gathered as the engine finds them missing and
 * submitted together (sliced by `itemsPerTask`); each item's result is restored as its task ends.
 */
export class RemoteItems {
  private pending: { id: string; key: string; needs?: Record<string, string>; settle(end: TaskEnd): void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly env: BuildEnv,
    private readonly executor: RemoteExecutor,
    private readonly node: EngineNode,
    /** The stage's key as far as known, and the upstream digests and files it was computed with. */
    private readonly stage: { key: string; upstream: Record<string, string>; files: Record<string, string> },
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Runs one item remotely; resolves with its result, restored, or with why the job stopped it
   * (a limit the stage enforces, as a local run would stop it), or throws why there is neither.
   * A task that runs several items uploads each as it finishes: the build takes those as they
   * appear, so progress (and a build interrupted meanwhile) sees items, not whole tasks.
   */
  async run(id: string, key: string, needs: Record<string, string> | undefined): Promise<{ result: ActionResult } | { stopped: { why: string; hint?: string } }> {
    const remote = writableRemote(this.env, this.executor);
    const ended = new Promise<TaskEnd>((settle) => {
      this.pending.push({ id, key, ...(needs && Object.keys(needs).length ? { needs } : {}), settle });
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.flush(), BATCH_MS);
    });
    let end: TaskEnd | undefined;
    void ended.then((e) => (end = e));
    while (!end && this.executor.itemsPerTask > 1) {
      await Promise.race([ended, new Promise((r) => setTimeout(r, ITEM_POLL_MS).unref())]);
      if (end || this.env.signal.aborted) break;
      const hit = await remote.lookup(key);
      if (hit && (await remote.restore(hit))) return { result: hit.result };
    }
    const done = await ended;
    this.env.signal.throwIfAborted();
    const stopped = done.stopped?.[id];
    if (stopped) return { stopped };
    // A task that failed after this item finished still uploaded it: the result stands.
    if (!done.ok) {
      const hit = remote.canRead ? await remote.lookup(key) : undefined;
      if (hit && (await remote.restore(hit))) return { result: hit.result };
      throw new Error(done.message);
    }
    return { result: await fetchResult(this.env, key, `${this.executor.name} task ${done.id}`) };
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const fail = (message: string): void => batch.forEach((b) => b.settle({ ok: false, id: "-", message }));
    try {
      await ship(this.env.remote!, [...Object.values(this.stage.upstream), ...batch.flatMap((b) => Object.values(b.needs ?? {}))]);
    } catch (e) {
      return fail(e instanceof Error ? e.message : String(e));
    }
    if (this.env.signal.aborted) return fail("cancelled");
    const items: NonNullable<ExecOrder["items"]> = {};
    for (const b of batch) items[b.id] = { key: b.key, ...(b.needs ? { needs: b.needs } : {}) };
    const slices: (typeof batch)[] = [];
    for (let i = 0; i < batch.length; i += this.executor.itemsPerTask) slices.push(batch.slice(i, i + this.executor.itemsPerTask));
    const tasks = this.executor.submit(
      { node: this.node.id, key: this.stage.key, order: { upstream: this.stage.upstream, items }, slices: slices.map((s) => s.map((b) => b.id)), files: this.stage.files },
      this.env.signal,
      this.log,
    );
    slices.forEach((slice, i) => void tasks[i]!.then((end) => slice.forEach((b) => b.settle(end))));
  }
}
