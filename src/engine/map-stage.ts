import type { BuildEnv } from "./env.js";
import { LiveFeed, type ItemFeed } from "./item-feed.js";
import { computeKey, itemPreimage, type KeyPreimage } from "./key.js";
import type { Semaphore } from "./semaphore.js";
import { combineItems, materializeUpstream, runStaged } from "./staging.js";
import { err, ok, type Result } from "../result.js";
import type { ActionResult } from "../store/index.js";
import type { EngineNode, ItemCounts, MapItem, RunHooks, StageFailure, UpstreamOutput } from "./types.js";

export interface MapRun {
  output: string;
  result: ActionResult;
  items: ItemCounts;
}

/**
 * A map stage's key, which may not be known when it opens: the upstreams it streams
 * (`map.stream`) are still running. `preimage` lacks them (its items' keys never hold them);
 * `final` waits for them and gives the stage's own key, or why there is none.
 */
export interface MapKeying {
  preimage: KeyPreimage;
  /** Set when known from the start (nothing streamed is still running). */
  key?: string;
  final(): Promise<Result<{ preimage: KeyPreimage; key: string }, StageFailure>>;
}

/** Where a map stage's items find the upstream items they need, and where it announces its own. */
export interface MapFeeds {
  /** The feed of the upstream a node's deps name `name`. */
  of(name: string): Promise<ItemFeed>;
  /** Called once the items are listed, with the feed downstream items wait on. */
  publish(feed: LiveFeed): void;
}

type ItemEnd = { id: string; key: string; output: string } | { failed: { id: string; message: string } } | { stopped: { why: string; hint?: string } };

/**
 * Runs a map stage: each item is looked up (store, then remote cache) and run only when
 * missing, committed on its own as it finishes, so an interrupted or failed stage keeps every
 * finished item. An item that needs upstream items waits for those only. The stage's output is
 * committed only when every item finished and every upstream produced its output.
 */
export async function runMapStage(
  env: BuildEnv,
  node: EngineNode,
  keying: MapKeying,
  ups: Record<string, UpstreamOutput>,
  hooks: (outDir: string, log: string[], prefix?: string) => RunHooks,
  log: string[],
  slots: Semaphore,
  feeds: MapFeeds,
): Promise<{ items: ItemCounts; run: Result<Omit<MapRun, "items">, StageFailure> }> {
  const map = node.stage.map!;
  const started = Date.now();
  // What the stage streams reaches its items one by one, never open(): the same whether the
  // upstream was built before or is still running.
  const streamed = new Set(map.stream ?? []);
  const shared = Object.fromEntries(Object.entries(ups).filter(([name]) => !streamed.has(name)));
  const opened = await map.open({ ...node.context, ...hooks("", log), upstream: shared, fileDigests: keying.preimage.files });
  const items = opened.items;
  checkItemIds(node.id, items);
  const feed = new LiveFeed(node.id, items.map((i) => i.id));
  feeds.publish(feed);
  let done = 0;
  const counts: ItemCounts = { run: 0, reused: 0, fetched: 0, failed: 0, stopped: 0 };
  let costUsd: number | undefined;
  const executor = env.executorOf?.(node) ?? env.executor;
  const local = executor.where === "local" ? executor : env.executor;
  const remoteItems =
    executor.where === "remote" ? new (await import("./remote-run.js")).RemoteItems(env, executor, node, { key: keying.key ?? computeKey(keying.preimage), upstream: keying.preimage.upstream, files: keying.preimage.files }, hooks("", log).log) : undefined;
  const tick = (): void => env.events({ type: "stage-progress", id: node.id, done, total: items.length, ...(costUsd !== undefined ? { costUsd } : {}) });
  tick();
  const one = async (item: MapItem): Promise<ItemEnd> => {
    const needed = await neededItems(node, item, feeds);
    if (!needed.ok) {
      counts.failed++;
      done++;
      tick();
      return { failed: { id: item.id, message: needed.error } };
    }
    const itemPre = itemPreimage(keying.preimage, item, map.over, needed.value, map.overFiles, map.overParams);
    const itemKey = computeKey(itemPre);
    const found = await env.store.ac.get(itemKey);
    if (found && (await env.store.cas.isComplete(found.output))) {
      counts.reused++;
      done++;
      tick();
      return { id: item.id, key: itemKey, output: found.output };
    }
    // Another machine may have run this item already (and paid for it).
    const remote = env.remote?.canRead ? await env.remote.lookup(itemKey) : undefined;
    if (remote && (await env.remote!.restore(remote))) {
      counts.fetched++;
      done++;
      tick();
      return { id: item.id, key: itemKey, output: remote.result.output };
    }
    if (remoteItems) {
      try {
        const r = await remoteItems.run(item.id, itemKey, needed.value);
        if ("stopped" in r) {
          counts.stopped++;
          return { stopped: r.stopped };
        }
        counts.run++;
        return { id: item.id, key: itemKey, output: r.result.output };
      } catch (e) {
        if (env.signal.aborted) throw e;
        counts.failed++;
        return { failed: { id: item.id, message: e instanceof Error ? e.message : String(e) } };
      } finally {
        done++;
        tick();
      }
    }
    return slots.run(async (): Promise<ItemEnd> => {
      env.signal.throwIfAborted();
      const itemLog: string[] = [];
      let stopped: { why: string; hint?: string } | undefined;
      try {
        // The items it needs stand, under their upstreams' names, for those upstreams' outputs.
        const itemUps = { ...shared, ...(await materializeUpstream(env.store, needed.value)) };
        const r = await runStaged(env.store, env.signal, `${node.id}[${item.id}]`, itemPre, itemKey, itemLog, async (outDir) => {
          const itemHooks: RunHooks = {
            ...hooks(outDir, itemLog, `[${item.id}] `),
            upstream: itemUps,
            // Items report money spent; done/total stay the engine's count of items.
            progress: (u) => {
              if (u.costUsd !== undefined) costUsd = u.costUsd;
              tick();
            },
          };
          const outcome = await local.runItem(node, opened, itemHooks, item);
          if (outcome.outcome === "stopped") {
            stopped = { why: outcome.why, ...(outcome.hint ? { hint: outcome.hint } : {}) };
            // Nothing of a stopped item is committed: throwing leaves its staging unadopted.
            throw new StoppedItem();
          }
        });
        counts.run++;
        await env.remote?.upload(r);
        return { id: item.id, key: itemKey, output: r.output };
      } catch (e) {
        if (env.signal.aborted) throw e;
        if (stopped) {
          counts.stopped++;
          return { stopped };
        }
        counts.failed++;
        return { failed: { id: item.id, message: e instanceof Error ? e.message : String(e) } };
      } finally {
        log.push(...itemLog);
        done++;
        tick();
      }
    });
  };
  let ends: ItemEnd[];
  try {
    ends = await Promise.all(
      items.map(async (item) => {
        const end = await one(item);
        feed.end(item.id, "output" in end ? { ok: true, output: end.output } : { ok: false, message: "failed" in end ? end.failed.message : `stopped: ${end.stopped.why}` });
        return end;
      }),
    );
  } finally {
    feed.close(`${node.id} was cancelled`);
    await opened.close?.();
  }
  const finished = ends.filter((r): r is { id: string; key: string; output: string } => "output" in r);
  const kept = finished.length;
  const failed = ends.flatMap((e) => ("failed" in e ? [e.failed] : []));
  const stops = ends.flatMap((e) => ("stopped" in e ? [e.stopped] : []));
  if (failed.length) return { items: counts, run: err({ reason: "items", failed, stopped: stops.length, kept, total: items.length, log: "" }) };
  if (stops.length) {
    const first = stops[0]!;
    return { items: counts, run: err({ reason: "stopped", why: first.why, ...(first.hint ? { hint: first.hint } : {}), stopped: stops.length, kept, total: items.length }) };
  }
  const keyed = await keying.final();
  if (!keyed.ok) return { items: counts, run: keyed };
  const output = await combineItems(env.store, finished);
  const result: ActionResult = {
    version: 1,
    key: keyed.value.key,
    stage: node.id,
    preimage: keyed.value.preimage,
    output,
    log: await env.store.cas.putBytes(`${log.join("\n")}\n`),
    durationMs: Date.now() - started,
    createdAt: new Date().toISOString(),
    items: finished,
  };
  await env.store.ac.put(result);
  return { items: counts, run: ok({ output, result }) };
}

/**
 * The output digests of the upstream items an item needs, by upstream name, once they have
 * ended; a need that ended without output fails the item with that item's message.
 */
async function neededItems(node: EngineNode, item: MapItem, feeds: MapFeeds): Promise<Result<Record<string, string>, string>> {
  const out: Record<string, string> = {};
  for (const [name, id] of Object.entries(item.needs ?? {})) {
    if (!(name in node.deps)) return err(`${node.id}: item ${item.id} needs ${name}, which is not one of its upstreams`);
    const end = await (await feeds.of(name)).get(id);
    if (!end.ok) return err(`${node.deps[name]} item ${id} did not complete: ${end.message}`);
    out[name] = end.output;
  }
  return ok(out);
}

/** Marks the unwinding of an item the stage stopped; never seen outside this module. */
class StoppedItem extends Error {}

function checkItemIds(stage: string, items: MapItem[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (!/^[\w.-]+$/.test(item.id) || item.id === "." || item.id === "..") throw new Error(`${stage}: item id "${item.id}" is not a safe directory name`);
    if (seen.has(item.id)) throw new Error(`${stage}: duplicate item id "${item.id}"`);
    seen.add(item.id);
  }
}
