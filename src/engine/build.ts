import { join } from "node:path";
import type { BuildStatus, Reason } from "./events.js";
import { evaluateNode } from "./decide.js";
import type { BuildEnv } from "./env.js";
import { canonicalJson, sha256, type KeyPreimage } from "./key.js";
import type { LockEntry } from "./lockfile.js";
import { runMapStage } from "./map-stage.js";
import { Semaphore } from "./semaphore.js";
import { materializeUpstream, runStaged } from "./staging.js";
export type { BuildEnv } from "./env.js";
import { UserInputError } from "../errors.js";
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
 * interrupted build keeps everything that completed.
 */
export async function buildNodes(env: BuildEnv, nodes: EngineNode[]): Promise<NodeOutcome[]> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const slots = new Semaphore(Math.max(1, env.jobs));
  const memo = new Map<string, Promise<NodeOutcome>>();
  const outcome = (id: string): Promise<NodeOutcome> => {
    let p = memo.get(id);
    if (!p) {
      p = buildOne(env, byId.get(id)!, outcome, slots).then((o) => {
        env.events({ type: "stage-end", id: o.id, status: o.status, durationMs: o.durationMs, reasons: o.reasons, ...pick(o) });
        return o;
      });
      memo.set(id, p);
    }
    return p;
  };
  return Promise.all(nodes.map((n) => outcome(n.id)));
}

function pick(o: NodeOutcome): Partial<NodeOutcome> {
  return { ...(o.key ? { key: o.key } : {}), ...(o.output ? { output: o.output } : {}), ...(o.failure ? { failure: o.failure } : {}), ...(o.items ? { items: o.items } : {}) };
}

async function buildOne(env: BuildEnv, node: EngineNode, outcome: (id: string) => Promise<NodeOutcome>, slots: Semaphore): Promise<NodeOutcome> {
  const started = Date.now();
  const base = { id: node.id, durationMs: 0 };
  if (node.stage.unavailable) return { ...base, status: "unavailable", reasons: [{ type: "unavailable", message: node.stage.unavailable }] };
  const upstream: Record<string, string> = {};
  for (const [name, depId] of Object.entries(node.deps)) {
    const dep = await outcome(depId);
    if (dep.status === "unavailable") return { ...base, status: "unavailable", reasons: [{ type: "needs", stage: depId }] };
    if (!dep.output) {
      const status = dep.status === "cancelled" ? "cancelled" : "skipped";
      return { ...base, status, reasons: [{ type: "error", message: `${depId} did not complete` }], failure: { reason: "upstream", stage: depId } };
    }
    upstream[name] = dep.output;
  }
  if (env.signal.aborted) return { ...base, status: "cancelled", reasons: [], failure: { reason: "cancelled" } };
  const ev = await evaluateNode(env, node, upstream);
  if (ev.status === "error") return { ...base, status: "failed", reasons: ev.reasons, failure: { reason: "inputs", problems: ev.problems } };
  if (ev.status === "unavailable" || ev.status === "blocked") throw new Error(`unexpected ${ev.status} for ${node.id} with every upstream built`);
  if (ev.status === "will-fetch") {
    env.events({ type: "stage-start", id: node.id, reasons: ev.reasons });
    const fetched = await env.remote!.restore(ev.remote, (p) =>
      env.events({ type: "stage-progress", id: node.id, done: p.blobs, total: p.totalBlobs, unit: "blobs", bytes: { done: p.bytes, total: p.totalBytes } }),
    );
    if (fetched) {
      const output = ev.remote.result.output;
      return { ...base, status: "fetched", reasons: ev.reasons, durationMs: Date.now() - started, key: ev.key, output, lockEntry: await lockEntryOf(env.store, ev.preimage, ev.key, output) };
    }
  } else if (ev.hit) {
    // Up-to-date results are protected by sabuild.lock; recency matters for the others (LRU gc).
    if (ev.status === "cached") await env.store.ac.touch(ev.key);
    const status = ev.status === "up-to-date" ? "up-to-date" : "restored";
    const locked = env.lock[node.id];
    const lockEntry = locked?.key === ev.key && locked.output.digest === ev.hit.output ? locked : await lockEntryOf(env.store, ev.preimage, ev.key, ev.hit.output);
    return { ...base, status, reasons: ev.reasons, key: ev.key, output: ev.hit.output, lockEntry };
  } else {
    env.events({ type: "stage-start", id: node.id, reasons: ev.reasons });
  }
  return runNode(env, node, ev.preimage, ev.key, ev.reasons, upstream, slots, started);
}

async function runNode(
  env: BuildEnv,
  node: EngineNode,
  preimage: KeyPreimage,
  key: string,
  reasons: Reason[],
  upstream: Record<string, string>,
  slots: Semaphore,
  started: number,
): Promise<NodeOutcome> {
  const log: string[] = [];
  const base = { id: node.id, reasons, key };
  const logFile = join(env.store.root, "logs", `${node.id.replace(/[^\w.-]/g, "_")}.log`);
  try {
    const ups = await materializeUpstream(env.store, upstream);
    const hooks = (outDir: string, lines: string[], prefix = ""): RunHooks => hooksFor(env, node, outDir, ups, lines, prefix);
    let result: ActionResult;
    let items: ItemCounts | undefined;
    if (node.stage.map) {
      const mapped = await runMapStage(env, node, preimage, key, ups, hooks, log, slots);
      items = mapped.items;
      if (!mapped.run.ok) {
        const failure = mapped.run.error.reason === "items" ? { ...mapped.run.error, log: logFile } : mapped.run.error;
        await writeFileAtomic(logFile, `${log.join("\n")}\n`);
        return { ...base, status: "failed", durationMs: Date.now() - started, failure, items };
      }
      result = mapped.run.value.result;
    } else {
      result = await slots.run(() => runStaged(env.store, env.signal, node.id, preimage, key, log, (outDir) => env.executor.run(node, hooks(outDir, log))));
    }
    await env.remote?.upload(result, (p) =>
      env.events({ type: "stage-progress", id: node.id, done: p.blobs, total: p.totalBlobs, unit: "uploads", bytes: { done: p.bytes, total: p.totalBytes } }),
    );
    const output = result.output;
    return { ...base, status: "built", durationMs: Date.now() - started, output, lockEntry: await lockEntryOf(env.store, preimage, key, output), ...(items ? { items } : {}) };
  } catch (e) {
    const durationMs = Date.now() - started;
    if (env.signal.aborted) return { ...base, status: "cancelled", durationMs, failure: { reason: "cancelled" } };
    // A stage that finds bad user input mid-run reports it as it would before running.
    if (e instanceof UserInputError && e.problems.length) return { ...base, status: "failed", durationMs, failure: { reason: "inputs", problems: e.problems } };
    const message = e instanceof Error ? e.message : String(e);
    log.push(e instanceof Error && !(e instanceof UserInputError) ? (e.stack ?? message) : message);
    await writeFileAtomic(logFile, `${log.join("\n")}\n`);
    return { ...base, status: "failed", durationMs, failure: { reason: "threw", message, log: logFile } };
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

async function lockEntryOf(store: Store, preimage: KeyPreimage, key: string, output: string): Promise<LockEntry> {
  const manifest = await store.cas.readManifest(output);
  return {
    key,
    version: preimage.version,
    params: sha256(canonicalJson(preimage.params)),
    files: preimage.files,
    upstream: preimage.upstream,
    toolchain: preimage.toolchain,
    output: { digest: output, files: manifest.entries.length, bytes: totalSize(manifest) },
  };
}
