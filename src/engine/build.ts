import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { UserInputError, type Problem } from "../errors.js";
import type { BuildStatus, EventSink, Reason } from "./events.js";
import { evaluateNode, type EvalEnv } from "./decide.js";
import type { StageNode } from "./graph.js";
import { canonicalJson, computeKey, itemPreimage, sha256, type KeyPreimage } from "./key.js";
import type { LockEntry } from "./lockfile.js";
import { Semaphore } from "./semaphore.js";
import { tempName, writeFileAtomic } from "../store/atomic.js";
import type { ActionResult, Store } from "../store/index.js";
import { makeManifest, totalSize, type ManifestEntry } from "../store/manifest.js";
import type { MapItem, RunContext, StageKind, UpstreamOutput } from "../stages/types.js";

export interface NodeOutcome {
  id: string;
  status: BuildStatus | "unavailable";
  reasons: Reason[];
  durationMs: number;
  key?: string;
  output?: string;
  lockEntry?: LockEntry;
  error?: string;
  problems?: Problem[];
  logFile?: string;
  /** Set after the build when the stage's gate rejects its output (the output is kept). */
  gateFailure?: string;
  /** Map stages: items run, reused from the store, fetched from the remote cache, failed. */
  items?: { run: number; reused: number; fetched: number; failed: number };
}

export interface BuildEnv extends EvalEnv {
  events: EventSink;
  jobs: number;
  signal: AbortSignal;
}

/**
 * Runs the selected nodes, dependencies first, at most `jobs` stage runs or map items at a time.
 * Each finished stage (and each finished map item) is committed to the store at once, so an
 * interrupted build keeps everything that completed.
 */
export async function buildNodes(env: BuildEnv, nodes: StageNode[]): Promise<NodeOutcome[]> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const slots = new Semaphore(Math.max(1, env.jobs));
  const memo = new Map<string, Promise<NodeOutcome>>();
  const outcome = (id: string): Promise<NodeOutcome> => {
    let p = memo.get(id);
    if (!p) {
      p = buildOne(env, byId.get(id)!, outcome, slots);
      memo.set(id, p);
    }
    return p;
  };
  return Promise.all(nodes.map((n) => outcome(n.id)));
}

async function buildOne(
  env: BuildEnv,
  node: StageNode,
  outcome: (id: string) => Promise<NodeOutcome>,
  slots: Semaphore,
): Promise<NodeOutcome> {
  const started = Date.now();
  const base = { id: node.id, durationMs: 0 };
  if (node.stage.unavailable) return { ...base, status: "unavailable", reasons: [{ type: "unavailable", message: node.stage.unavailable }] };
  const upstream: Record<string, string> = {};
  for (const depId of node.deps) {
    const dep = await outcome(depId);
    if (dep.status === "unavailable") return { ...base, status: "unavailable", reasons: [{ type: "needs", stage: depId }] };
    if (!dep.output) {
      const status = dep.status === "cancelled" ? "cancelled" : "skipped";
      env.events({ type: "stage-end", id: node.id, status, durationMs: 0, error: `${depId} did not complete` });
      return { ...base, status, reasons: [{ type: "error", message: `${depId} did not complete` }] };
    }
    upstream[depId.slice(depId.lastIndexOf(":") + 1)] = dep.output;
  }
  if (env.signal.aborted) {
    env.events({ type: "stage-end", id: node.id, status: "cancelled", durationMs: 0 });
    return { ...base, status: "cancelled", reasons: [] };
  }
  const ev = await evaluateNode(env, node, upstream);
  if (ev.status === "error") {
    const error = ev.problems.map((p) => `${p.file}: ${p.message}`).join("; ");
    env.events({ type: "stage-end", id: node.id, status: "failed", durationMs: 0, error, problems: ev.problems });
    return { ...base, status: "failed", reasons: ev.reasons, error, problems: ev.problems };
  }
  if (ev.status === "will-fetch") {
    env.events({ type: "stage-start", id: node.id, reasons: ev.reasons });
    const fetched = await env.remote!.restore(ev.remote, (p) =>
      env.events({ type: "stage-progress", id: node.id, done: p.blobs, total: p.totalBlobs, unit: "blobs", bytes: { done: p.bytes, total: p.totalBytes } }),
    );
    if (fetched) {
      const output = ev.remote.result.output;
      const durationMs = Date.now() - started;
      env.events({ type: "stage-end", id: node.id, status: "fetched", durationMs, output });
      return { ...base, status: "fetched", reasons: ev.reasons, durationMs, key: ev.key, output, lockEntry: await lockEntryOf(env.store, ev.preimage, ev.key, output) };
    }
  }
  if (ev.status !== "will-run" && ev.status !== "will-fetch" && ev.status !== "up-to-date" && ev.status !== "cached") throw new Error(`unexpected ${ev.status}`);
  if (ev.status !== "will-fetch" && ev.hit) {
    // Up-to-date results are protected by sabuild.lock; recency matters for the others (LRU gc).
    if (ev.status === "cached") await env.store.ac.touch(ev.key);
    const status = ev.status === "up-to-date" ? "up-to-date" : "restored";
    env.events({ type: "stage-end", id: node.id, status, durationMs: 0, output: ev.hit.output });
    const locked = env.lock[node.id];
    const lockEntry = locked?.key === ev.key && locked.output.digest === ev.hit.output ? locked : await lockEntryOf(env.store, ev.preimage, ev.key, ev.hit.output);
    return { ...base, status, reasons: ev.reasons, key: ev.key, output: ev.hit.output, lockEntry };
  }
  if (ev.status !== "will-fetch") env.events({ type: "stage-start", id: node.id, reasons: ev.reasons });
  const log: string[] = [];
  try {
    const run: { output: string; result: ActionResult; items?: { run: number; reused: number; fetched: number; failed: number } } = node.stage.map
      ? await runMapStage(env, node, ev.preimage, ev.key, upstream, log, slots)
      : await slots.run(() => runPlainStage(env, node, ev.preimage, ev.key, upstream, log));
    await env.remote?.upload(run.result, (p) =>
      env.events({ type: "stage-progress", id: node.id, done: p.blobs, total: p.totalBlobs, unit: "uploads", bytes: { done: p.bytes, total: p.totalBytes } }),
    );
    const durationMs = Date.now() - started;
    env.events({ type: "stage-end", id: node.id, status: "built", durationMs, output: run.output, ...(run.items ? { items: run.items } : {}) });
    return { ...base, status: "built", reasons: ev.reasons, durationMs, key: ev.key, output: run.output, lockEntry: await lockEntryOf(env.store, ev.preimage, ev.key, run.output), ...(run.items ? { items: run.items } : {}) };
  } catch (e) {
    const durationMs = Date.now() - started;
    const cancelled = env.signal.aborted;
    const problems = e instanceof UserInputError ? e.problems : undefined;
    const error = e instanceof Error ? e.message : String(e);
    log.push(e instanceof Error && !(e instanceof UserInputError) ? (e.stack ?? error) : error);
    const logFile = join(env.store.root, "logs", `${node.id.replace(/[^\w.-]/g, "_")}.log`);
    await writeFileAtomic(logFile, `${log.join("\n")}\n`);
    const status = cancelled ? "cancelled" : "failed";
    env.events({ type: "stage-end", id: node.id, status, durationMs, error, ...(problems ? { problems } : {}) });
    return { ...base, status, reasons: ev.reasons, durationMs, key: ev.key, error, ...(problems ? { problems } : {}), logFile };
  }
}

function makeContext(env: BuildEnv, node: StageNode, outDir: string, upstream: Partial<Record<StageKind, UpstreamOutput>>, log: string[], prefix = ""): RunContext {
  return {
    project: env.project,
    subagent: node.subagent,
    outDir,
    upstream,
    signal: env.signal,
    log: (line) => {
      log.push(prefix + line);
      env.events({ type: "stage-log", id: node.id, line: prefix + line });
    },
    progress: (u) => env.events({ type: "stage-progress", id: node.id, ...u }),
  };
}

export async function materializeUpstream(store: Store, upstream: Record<string, string>): Promise<Partial<Record<StageKind, UpstreamOutput>>> {
  const out: Partial<Record<StageKind, UpstreamOutput>> = {};
  for (const [kind, digest] of Object.entries(upstream)) out[kind as StageKind] = { dir: await store.cas.materialize(digest), digest };
  return out;
}

/** Runs `fn` with a fresh staging directory and commits what it wrote as one result. */
async function runStaged(
  env: BuildEnv,
  stage: string,
  preimage: KeyPreimage,
  key: string,
  log: string[],
  fn: (outDir: string) => Promise<void>,
): Promise<ActionResult> {
  const started = Date.now();
  await mkdir(env.store.cas.tmpDir, { recursive: true });
  const outDir = tempName(env.store.cas.tmpDir, "stage");
  await mkdir(outDir, { recursive: true });
  try {
    await fn(outDir);
    env.signal.throwIfAborted();
    const { digest } = await env.store.cas.adoptTree(outDir);
    const result: ActionResult = {
      version: 1,
      key,
      stage,
      preimage,
      output: digest,
      log: await env.store.cas.putBytes(`${log.join("\n")}\n`),
      durationMs: Date.now() - started,
      createdAt: new Date().toISOString(),
    };
    await env.store.ac.put(result);
    return result;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

async function runPlainStage(env: BuildEnv, node: StageNode, preimage: KeyPreimage, key: string, upstream: Record<string, string>, log: string[]): Promise<{ output: string; result: ActionResult }> {
  const stage = node.stage;
  if (!stage.run) throw new Error(`stage ${stage.kind} has neither run nor map`);
  const ups = await materializeUpstream(env.store, upstream);
  const result = await runStaged(env, node.id, preimage, key, log, (outDir) => stage.run!(makeContext(env, node, outDir, ups, log)));
  return { output: result.output, result };
}

async function runMapStage(
  env: BuildEnv,
  node: StageNode,
  preimage: KeyPreimage,
  key: string,
  upstream: Record<string, string>,
  log: string[],
  slots: Semaphore,
): Promise<{ output: string; result: ActionResult; items: { run: number; reused: number; fetched: number; failed: number } }> {
  const map = node.stage.map!;
  const started = Date.now();
  const ups = await materializeUpstream(env.store, upstream);
  const items = await map.items(makeContext(env, node, "", ups, log));
  checkItemIds(node.id, items);
  let done = 0;
  const counts = { run: 0, reused: 0, fetched: 0, failed: 0 };
  const failures: string[] = [];
  let overBudget = 0;
  let costUsd: number | undefined;
  env.events({ type: "stage-progress", id: node.id, done, total: items.length });
  const results = await Promise.all(
    items.map(async (item) => {
      const itemPre = itemPreimage(preimage, item);
      const itemKey = computeKey(itemPre);
      const found = await env.store.ac.get(itemKey);
      if (found && (await env.store.cas.isComplete(found.output))) {
        counts.reused++;
        env.events({ type: "stage-progress", id: node.id, done: ++done, total: items.length });
        return { id: item.id, key: itemKey, output: found.output };
      }
      // Another machine may have run this item already (and paid for it).
      const remote = env.remote?.canRead ? await env.remote.lookup(itemKey) : undefined;
      if (remote && (await env.remote!.restore(remote))) {
        counts.fetched++;
        env.events({ type: "stage-progress", id: node.id, done: ++done, total: items.length });
        return { id: item.id, key: itemKey, output: remote.result.output };
      }
      return slots.run(async () => {
        env.signal.throwIfAborted();
        const itemLog: string[] = [];
        try {
          const r = await runStaged(env, `${node.id}[${item.id}]`, itemPre, itemKey, itemLog, (outDir) =>
            map.runItem(
              {
                ...makeContext(env, node, outDir, ups, itemLog, `[${item.id}] `),
                // Items report money spent; done/total stay the engine's count of items.
                progress: (u) => {
                  if (u.costUsd !== undefined) costUsd = u.costUsd;
                  env.events({ type: "stage-progress", id: node.id, done, total: items.length, ...(costUsd !== undefined ? { costUsd } : {}) });
                },
              },
              item,
            ),
          );
          counts.run++;
          await env.remote?.upload(r);
          return { id: item.id, key: itemKey, output: r.output };
        } catch (e) {
          if (env.signal.aborted) throw e;
          counts.failed++;
          if (e instanceof Error && e.name === "BudgetExceededError") overBudget++;
          else failures.push(`${item.id}: ${e instanceof Error ? e.message : String(e)}`);
          return undefined;
        } finally {
          log.push(...itemLog);
          env.events({ type: "stage-progress", id: node.id, done: ++done, total: items.length, ...(costUsd !== undefined ? { costUsd } : {}) });
        }
      });
    }),
  );
  const kept = counts.run + counts.reused + counts.fetched;
  if (failures.length) {
    const budget = overBudget ? `; ${overBudget} more not run: budget reached` : "";
    throw new Error(`${failures.length} of ${items.length} items failed (the ${kept} that finished are kept${budget}):\n  ${failures.join("\n  ")}`);
  }
  if (overBudget) {
    throw new Error(`budget reached: ${kept} of ${items.length} items done and kept, ${overBudget} not run. Raise the stage's budget in subagents.yaml and build again: finished items are reused and cost nothing.`);
  }
  const finished = results.filter((r): r is { id: string; key: string; output: string } => r !== undefined);
  const output = await combineItems(env.store, finished);
  const result: ActionResult = {
    version: 1,
    key,
    stage: node.id,
    preimage,
    output,
    log: await env.store.cas.putBytes(`${log.join("\n")}\n`),
    durationMs: Date.now() - started,
    createdAt: new Date().toISOString(),
    items: finished,
  };
  await env.store.ac.put(result);
  return { output, result, items: counts };
}

/** The stage output of a map stage: `items/<id>/...` for each item plus an `index.json`. */
async function combineItems(store: Store, items: { id: string; output: string }[]): Promise<string> {
  const entries: ManifestEntry[] = [];
  for (const item of items) {
    const m = await store.cas.readManifest(item.output);
    for (const e of m.entries) entries.push({ ...e, path: `items/${item.id}/${e.path}` });
  }
  const index = `${JSON.stringify({ items: items.map((i) => ({ id: i.id, output: i.output })) }, null, 1)}\n`;
  const indexDigest = await store.cas.putBytes(index);
  entries.push({ path: "index.json", digest: indexDigest, size: Buffer.byteLength(index), executable: false });
  return (await store.cas.putManifest(makeManifest(entries))).digest;
}

function checkItemIds(stage: string, items: MapItem[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (!/^[\w.-]+$/.test(item.id) || item.id === "." || item.id === "..") throw new Error(`${stage}: item id "${item.id}" is not a safe directory name`);
    if (seen.has(item.id)) throw new Error(`${stage}: duplicate item id "${item.id}"`);
    seen.add(item.id);
  }
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
