import { join } from "node:path";
import type { BuildStatus, EngineEvent, Reason } from "./events.js";
import { currentPreimage, decideUpToDate, evaluateNode, type Evaluation } from "./decide.js";
import { failedFeed, feedFromOutput, type ItemFeed, type LiveFeed } from "./item-feed.js";
import type { BuildEnv } from "./env.js";
import { canonicalJson, computeKey, overNames, sha256, type KeyPreimage } from "./key.js";
import type { LockEntry } from "./lockfile.js";
import type { MapFeeds, MapKeying } from "./map-stage.js";
import { Semaphore } from "./semaphore.js";
export type { BuildEnv } from "./env.js";
import { UserInputError } from "../errors.js";
import { err, ok } from "../result.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { ActionResult, Store } from "../store/index.js";
import { totalSize } from "../store/manifest.js";
import type { EngineNode, ItemCounts, RunHooks, StageFailure, UpstreamOutput } from "./types.js";

export interface NodeOutcome {
  id: string;
  status: BuildStatus | "unavailable";
  reasons: Reason[];
  durationMs: number;
  key?: string;
  output?: string;
  lockEntry?: LockEntry;
  /** Why there is no output (failed, cancelled, skipped). */
  failure?: StageFailure;
  /** Set after the build when the stage's gate rejects its output (the output is kept). */
  gateFailure?: string;
  items?: ItemCounts;
}

/**
 * Runs the selected nodes, dependencies first, at most `jobs` stage runs or map items at a time.
 * Each finished stage (and each finished map item) is committed to the store at once, so an
 * interrupted build keeps everything that completed. A map stage that streams an upstream
 * (`map.stream`) starts its items as the upstream items they need end, not when it finishes.
 */
export async function buildNodes(env: BuildEnv, nodes: EngineNode[]): Promise<NodeOutcome[]> {
  const decided = new Map<string, Evaluation>();
  if (await decideUpToDate(env, nodes, decided, env.interrupted ?? (() => env.signal.aborted))) {
    const outcomes = nodes.map((n) => upToDateOutcome(n.id, decided.get(n.id)!, env.lock[n.id]));
    for (const o of outcomes) env.events(stageEnd(o));
    return outcomes;
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const slots = new Semaphore(Math.max(1, env.jobs));
  const memo = new Map<string, Promise<NodeOutcome>>();
  const settled = new Map<string, NodeOutcome>();
  // Each node's items, for downstream items that need them: live while its map runs, else from its output.
  const feeds = new Map<string, { promise: Promise<ItemFeed>; resolve(feed: ItemFeed): void; set: boolean }>();
  const endedFeed = (o: NodeOutcome): ItemFeed => (o.output ? feedFromOutput(env.store, o.id, o.output, !!byId.get(o.id)!.stage.map) : failedFeed(`${o.id} did not complete`));
  // A node's feed slot is made when something asks for its items (a downstream map stage), not
  // for every node: a no-op build of 1,000 nodes asks for none.
  const feedSlot = (id: string) => {
    let f = feeds.get(id);
    if (!f) {
      let resolve!: (feed: ItemFeed) => void;
      const promise = new Promise<ItemFeed>((r) => (resolve = r));
      const slot = { promise, set: false, resolve: (feed: ItemFeed) => ((slot.set = true), resolve(feed)) };
      feeds.set(id, (f = slot));
      const ended = settled.get(id);
      if (ended) slot.resolve(endedFeed(ended));
    }
    return f;
  };
  const graph: Graph = {
    outcome(id) {
      let p = memo.get(id);
      if (!p) {
        p = buildOne(env, byId.get(id)!, graph, slots, decided).then((o) => {
          settled.set(o.id, o);
          const slot = feeds.get(o.id);
          if (slot && !slot.set) slot.resolve(endedFeed(o));
          env.events(stageEnd(o));
          return o;
        });
        memo.set(id, p);
      }
      return p;
    },
    feed(id) {
      void graph.outcome(id);
      return feedSlot(id).promise;
    },
    publish(id, feed) {
      const slot = feedSlot(id);
      if (!slot.set) slot.resolve(feed);
    },
    settled: (id) => settled.get(id),
  };
  return Promise.all(nodes.map((n) => graph.outcome(n.id)));
}

/** How a node reaches the others while the build runs. */
interface Graph {
  outcome(id: string): Promise<NodeOutcome>;
  /** Settles once the node's items are listed (its map opened) or it ended, whichever is first. */
  feed(id: string): Promise<ItemFeed>;
  publish(id: string, feed: LiveFeed): void;
  /** The node's outcome if it has ended. */
  settled(id: string): NodeOutcome | undefined;
}

/** A node decideUpToDate found up to date (or unavailable by its own stage), as an outcome. */
function upToDateOutcome(id: string, ev: Evaluation, locked: LockEntry | undefined): NodeOutcome {
  if (ev.status !== "up-to-date") return { id, status: "unavailable", reasons: ev.reasons, durationMs: 0 };
  return { id, status: "up-to-date", reasons: ev.reasons, durationMs: 0, key: ev.key, output: ev.hit!.output, ...(locked ? { lockEntry: locked } : {}) };
}

function stageEnd(o: NodeOutcome): EngineEvent {
  const e: Extract<EngineEvent, { type: "stage-end" }> = { type: "stage-end", id: o.id, status: o.status, durationMs: o.durationMs, reasons: o.reasons };
  // Set one by one: spreads of optional parts cost every node of a no-op build a few objects.
  if (o.key) e.key = o.key;
  if (o.output) e.output = o.output;
  if (o.failure) e.failure = o.failure;
  if (o.items) e.items = o.items;
  return e;
}

/** What stops a node when an upstream produced no output, as an outcome. */
function upstreamEnd(base: { id: string; durationMs: number }, depId: string, dep: NodeOutcome): NodeOutcome {
  if (dep.status === "unavailable") return { ...base, status: "unavailable", reasons: [{ type: "needs", stage: depId }] };
  const status = dep.status === "cancelled" ? "cancelled" : "skipped";
  return { ...base, status, reasons: [{ type: "error", message: `${depId} did not complete` }], failure: { reason: "upstream", stage: depId } };
}

async function buildOne(env: BuildEnv, node: EngineNode, graph: Graph, slots: Semaphore, decided: ReadonlyMap<string, Evaluation>): Promise<NodeOutcome> {
  const started = Date.now();
  const base = { id: node.id, durationMs: 0 };
  if (node.stage.unavailable) return { ...base, status: "unavailable", reasons: [{ type: "unavailable", message: node.stage.unavailable }] };
  const streamed = streamedDeps(node);
  const upstream: Record<string, string> = {};
  for (const name in node.deps) {
    if (streamed.has(name)) continue;
    const depId = node.deps[name]!;
    const dep = await graph.outcome(depId);
    if (!dep.output) return upstreamEnd(base, depId, dep);
    upstream[name] = dep.output;
  }
  // A streamed upstream that already ended is an upstream like any other; one still running
  // leaves this stage's key unknown until it ends, so the stage runs, its items keyed one by one.
  const running: Record<string, string> = {};
  for (const name of streamed) {
    const depId = node.deps[name]!;
    await graph.feed(depId);
    const dep = graph.settled(depId);
    if (!dep) running[name] = depId;
    else if (!dep.output) return upstreamEnd(base, depId, dep);
    else upstream[name] = dep.output;
  }
  if (env.signal.aborted) return { ...base, status: "cancelled", reasons: [], failure: { reason: "cancelled" } };
  const feeds = (): MapFeeds => ({ of: (name) => graph.feed(node.deps[name]!), publish: (feed) => graph.publish(node.id, feed) });
  if (Object.keys(running).length) {
    const partial = await currentPreimage(env, node, upstream);
    if (!partial.ok) {
      const problems = partial.error;
      return { ...base, status: "failed", reasons: problems.map((p) => ({ type: "error", message: `${p.file}: ${p.message}` })), failure: { reason: "inputs", problems } };
    }
    const reasons: Reason[] = Object.values(running).map((stage) => ({ type: "upstream-will-run", stage }));
    env.events({ type: "stage-start", id: node.id, reasons });
    const keying: MapKeying = {
      preimage: partial.value,
      async final() {
        const all = { ...upstream };
        for (const [name, depId] of Object.entries(running)) {
          const dep = await graph.outcome(depId);
          if (!dep.output) return err({ reason: "upstream", stage: depId });
          all[name] = dep.output;
        }
        const preimage = { ...partial.value, upstream: all };
        return ok({ preimage, key: computeKey(preimage) });
      },
    };
    return runNode(env, node, keying, reasons, upstream, slots, started, feeds());
  }
  // Evaluated already by decideUpToDate, with these same upstream outputs (its deps were up to date).
  const ev = decided.get(node.id) ?? (await evaluateNode(env, node, upstream));
  if (ev.status === "error") return { ...base, status: "failed", reasons: ev.reasons, failure: { reason: "inputs", problems: ev.problems } };
  if (ev.status === "unavailable" || ev.status === "blocked") throw new Error(`unexpected ${ev.status} for ${node.id} with every upstream built`);
  if (ev.status === "will-fetch") {
    env.events({ type: "stage-start", id: node.id, reasons: ev.reasons });
    const fetched = await env.remote!.restore(ev.remote, (p) =>
      env.events({ type: "stage-progress", id: node.id, done: p.blobs, total: p.totalBlobs, unit: "blobs", bytes: { done: p.bytes, total: p.totalBytes } }),
    );
    if (fetched) {
      const output = ev.remote.result.output;
      return { ...base, status: "fetched", reasons: ev.reasons, durationMs: Date.now() - started, key: ev.key, output, lockEntry: await lockEntryOf(env, node.id, ev.preimage, ev.key, output) };
    }
  } else if (ev.hit) {
    // Up-to-date results are protected by sabuild.lock; recency matters for the others (LRU gc).
    if (ev.status === "cached") await env.store.ac.touch(ev.key);
    const status = ev.status === "up-to-date" ? "up-to-date" : "restored";
    const locked = env.lock[node.id];
    const lockEntry = locked?.key === ev.key && locked.output.digest === ev.hit.output ? locked : await lockEntryOf(env, node.id, ev.preimage, ev.key, ev.hit.output);
    return { ...base, status, reasons: ev.reasons, key: ev.key, output: ev.hit.output, lockEntry };
  } else {
    env.events({ type: "stage-start", id: node.id, reasons: ev.reasons });
  }
  const known = { preimage: ev.preimage, key: ev.key };
  return runNode(env, node, { preimage: ev.preimage, final: async () => ok(known) }, ev.reasons, upstream, slots, started, feeds());
}

/** The upstreams a map stage streams; each must be one it fans out over, or its items' keys would miss it. */
const NONE: ReadonlySet<string> = new Set();

function streamedDeps(node: EngineNode): ReadonlySet<string> {
  const stream = node.stage.map?.stream;
  if (!stream?.length) return NONE;
  const over = new Set(overNames(node.stage.map?.over));
  for (const name of stream) {
    if (!over.has(name)) throw new Error(`stage ${node.kind}: map.stream names ${name}, which is not in map.over`);
    if (!(name in node.deps)) throw new Error(`stage ${node.kind}: map.stream names ${name}, which is not one of its upstreams`);
  }
  return new Set(stream);
}

async function runNode(
  env: BuildEnv,
  node: EngineNode,
  keying: MapKeying,
  reasons: Reason[],
  upstream: Record<string, string>,
  slots: Semaphore,
  started: number,
  feeds: MapFeeds,
): Promise<NodeOutcome> {
  const log: string[] = [];
  let key = keying.key;
  const base = (): { id: string; reasons: Reason[]; key?: string } => ({ id: node.id, reasons, ...(key ? { key } : {}) });
  const logFile = join(env.store.root, "logs", `${node.id.replace(/[^\w.-]/g, "_")}.log`);
  const executor = env.executorOf?.(node) ?? env.executor;
  try {
    // Loaded when a node runs: a no-op build decides everything without them.
    const { materializeUpstream, runStaged } = await import("./staging.js");
    const ups = await materializeUpstream(env.store, upstream);
    const hooks = (outDir: string, lines: string[], prefix = ""): RunHooks => hooksFor(env, node, outDir, ups, lines, prefix);
    let result: ActionResult;
    let items: ItemCounts | undefined;
    let preimage: KeyPreimage;
    if (node.stage.map) {
      const { runMapStage } = await import("./map-stage.js");
      const mapped = await runMapStage(env, node, keying, ups, hooks, log, slots, feeds);
      items = mapped.items;
      if (!mapped.run.ok) {
        const failure = mapped.run.error.reason === "items" ? { ...mapped.run.error, log: logFile } : mapped.run.error;
        await writeFileAtomic(logFile, `${log.join("\n")}\n`);
        const status = failure.reason === "upstream" ? "skipped" : "failed";
        return { ...base(), status, durationMs: Date.now() - started, failure, items };
      }
      result = mapped.run.value.result;
      preimage = result.preimage;
      key = result.key;
    } else {
      const known = await keying.final();
      if (!known.ok) throw new Error(`bug: ${node.id} runs without its key`);
      ({ preimage, key } = known.value);
      const k = key;
      if (executor.where === "remote") {
        const { runStageRemotely } = await import("./remote-run.js");
        result = await runStageRemotely(env, executor, node, preimage, k, hooks("", log).log);
      } else {
        result = await slots.run(() => runStaged(env.store, env.signal, node.id, preimage, k, log, (outDir) => executor.run(node, hooks(outDir, log))));
      }
    }
    // A result a remote job built came from the remote cache: nothing to send back.
    if (executor.where === "local") {
      await env.remote?.upload(result, (p) =>
        env.events({ type: "stage-progress", id: node.id, done: p.blobs, total: p.totalBlobs, unit: "uploads", bytes: { done: p.bytes, total: p.totalBytes } }),
      );
    }
    const output = result.output;
    return { ...base(), status: "built", durationMs: Date.now() - started, output, lockEntry: await lockEntryOf(env, node.id, preimage, result.key, output), ...(items ? { items } : {}) };
  } catch (e) {
    const durationMs = Date.now() - started;
    if (env.signal.aborted) return { ...base(), status: "cancelled", durationMs, failure: { reason: "cancelled" } };
    // A stage that finds bad user input mid-run reports it as it would before running.
    if (e instanceof UserInputError && e.problems.length) return { ...base(), status: "failed", durationMs, failure: { reason: "inputs", problems: e.problems } };
    const message = e instanceof Error ? e.message : String(e);
    log.push(e instanceof Error && !(e instanceof UserInputError) ? (e.stack ?? message) : message);
    await writeFileAtomic(logFile, `${log.join("\n")}\n`);
    return { ...base(), status: "failed", durationMs, failure: { reason: "threw", message, log: logFile } };
  }
}

function hooksFor(env: BuildEnv, node: EngineNode, outDir: string, upstream: Record<string, UpstreamOutput>, log: string[], prefix: string): RunHooks {
  return {
    outDir,
    upstream,
    signal: env.signal,
    log: (line, level = "info") => {
      log.push(prefix + line);
      env.events({ type: "stage-log", id: node.id, line: prefix + line, level });
    },
    progress: (u) => env.events({ type: "stage-progress", id: node.id, ...u }),
  };
}

async function lockEntryOf(env: BuildEnv, id: string, preimage: KeyPreimage, key: string, output: string): Promise<LockEntry> {
  const manifest = await env.store.cas.readManifest(output);
  const canonical = canonicalJson(preimage.params);
  const params = sha256(canonical);
  env.knownParams?.learn(id, params, canonical);
  return {
    key,
    version: preimage.version,
    params,
    files: preimage.files,
    upstream: preimage.upstream,
    toolchain: preimage.toolchain,
    output: { digest: output, files: manifest.entries.length, bytes: totalSize(manifest) },
  };
}
