import type { PlannedStage, Reason, SpendEstimate } from "./events.js";
import { currentPreimage, decideUpToDate, evaluateNode, type EvalEnv, type Evaluation } from "./decide.js";
import type { EngineNode } from "./types.js";
import { computeKey, itemPreimage, type KeyPreimage } from "./key.js";
import { feedFromOutput, type ItemFeed } from "./item-feed.js";

/**
 * Decides, without running anything, each node's status. A node downstream of one that will run
 * is `will-run` too: its key depends on an output that does not exist yet.
 */
export async function planNodes(env: EvalEnv, nodes: EngineNode[]): Promise<{ planned: PlannedStage[]; evals: Map<string, Evaluation> }> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Up to date nodes first, in one pass; the rest all at once (their remote lookups overlap).
  const evals = new Map<string, Evaluation>();
  if (!(await decideUpToDate(env, nodes, evals))) {
    const memo = new Map<string, Promise<Evaluation>>();
    const evaluate = (id: string): Promise<Evaluation> => {
      let p = memo.get(id);
      if (!p) {
        const known = evals.get(id);
        p = known ? Promise.resolve(known) : evaluateOne(env, byId.get(id)!, evaluate);
        memo.set(id, p);
      }
      return p;
    };
    await Promise.all(nodes.map(async (n) => evals.set(n.id, await evaluate(n.id))));
  }
  const items = new Map<string, { cached: number; total: number }>();
  for (const n of nodes) {
    const e = evals.get(n.id)!;
    if (n.stage.map && e.status === "will-run") items.set(n.id, await countCachedItems(env, n, e.preimage, (name) => !!byId.get(n.deps[name]!)?.stage.map));
  }
  const estimates = new Map<string, SpendEstimate>();
  for (const n of nodes) {
    const e = evals.get(n.id)!;
    if (!n.stage.estimate || (e.status !== "will-run" && e.status !== "blocked")) continue;
    const counted = items.get(n.id);
    const est = await n.stage.estimate(n.context, counted ? { items: counted.total - counted.cached } : {});
    if (est) estimates.set(n.id, est);
  }
  const planned = nodes.map((n): PlannedStage => {
    const e = evals.get(n.id)!;
    const status = e.status === "blocked" ? "will-run" : e.status;
    return {
      id: n.id,
      scope: n.scope,
      kind: n.kind,
      status,
      reasons: e.reasons,
      ...("key" in e ? { key: e.key } : {}),
      ...(items.has(n.id) ? { items: items.get(n.id)! } : {}),
      ...(estimates.has(n.id) ? { estimate: estimates.get(n.id)! } : {}),
      ...(e.status === "will-fetch" ? { fetch: { files: e.remote.missing.length, bytes: e.remote.bytes } } : {}),
    };
  });
  return { planned, evals };
}

async function evaluateOne(env: EvalEnv, node: EngineNode, evaluate: (id: string) => Promise<Evaluation>): Promise<Evaluation> {
  if (node.stage.unavailable) return { status: "unavailable", reasons: [{ type: "unavailable", message: node.stage.unavailable }] };
  const upstream: Record<string, string> = {};
  const blockers: Reason[] = [];
  for (const [name, depId] of Object.entries(node.deps)) {
    const dep = await evaluate(depId);
    if (dep.status === "unavailable") return { status: "unavailable", reasons: [{ type: "needs", stage: depId }] };
    if (dep.status === "error") blockers.push({ type: "error", message: `${depId} has input errors` });
    else if (dep.status === "blocked" || dep.status === "will-run") blockers.push({ type: "upstream-will-run", stage: depId });
    else if (dep.status === "will-fetch") upstream[name] = dep.remote.result.output;
    else upstream[name] = dep.hit!.output;
  }
  if (blockers.length) {
    // Its key must wait for the upstream output, but bad inputs can be reported now.
    const inputs = await currentPreimage(env, node, {});
    if (!inputs.ok) return { status: "error", reasons: inputs.error.map((p) => ({ type: "error", message: `${p.file}: ${p.message}` })), problems: inputs.error };
    return { status: "blocked", reasons: blockers };
  }
  return evaluateNode(env, node, upstream);
}

/**
 * For a map stage that will run: how many of its items the store already holds, so that plan
 * says "3 of 50 items cached" before anything runs (and spends money).
 */
async function countCachedItems(env: EvalEnv, node: EngineNode, preimage: KeyPreimage, mapped: (name: string) => boolean): Promise<{ cached: number; total: number }> {
  // As a build opens it: what the stage streams reaches its items one by one, never open().
  const streamed = new Set(node.stage.map!.stream ?? []);
  // Staging's module loads only here, for a map stage that will run: a no-op plan never needs it.
  const { materializeUpstream } = await import("./staging.js");
  const upstream = await materializeUpstream(env.store, Object.fromEntries(Object.entries(preimage.upstream).filter(([name]) => !streamed.has(name))));
  const feeds = new Map<string, ItemFeed>();
  const feed = (name: string): ItemFeed => {
    let f = feeds.get(name);
    if (!f) feeds.set(name, (f = feedFromOutput(env.store, node.deps[name]!, preimage.upstream[name]!, mapped(name))));
    return f;
  };
  const log = (): void => undefined;
  const { items } = await node.stage.map!.open({
    ...node.context,
    outDir: "",
    upstream,
    fileDigests: preimage.files,
    signal: new AbortController().signal,
    log,
    progress: log,
  });
  let cached = 0;
  for (const item of items) {
    const needs: Record<string, string> = {};
    let missing = false;
    for (const [name, id] of Object.entries(item.needs ?? {})) {
      const end = name in preimage.upstream ? await feed(name).get(id) : undefined;
      if (end?.ok) needs[name] = end.output;
      else missing = true;
    }
    if (missing) continue;
    const found = await env.store.ac.get(computeKey(itemPreimage(preimage, item, node.stage.map!.over, needs, node.stage.map!.overFiles, node.stage.map!.overParams)));
    if (found && (await env.store.cas.isComplete(found.output))) cached++;
  }
  return { cached, total: items.length };
}
