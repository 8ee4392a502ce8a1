import { join } from "node:path";
import { diffLockEntry, diffPreimage } from "./diff.js";
import type { Problem } from "../errors.js";
import type { PlanStatus, Reason } from "./events.js";
import type { EngineNode } from "./types.js";
export type { EvalEnv } from "./env.js";
import { computeKey, type KeyPreimage } from "./key.js";
import { keyFromLock } from "./lock-key.js";
import type { EvalEnv, RemoteHit } from "./env.js";
import { err, ok, type Result } from "../result.js";

/** What the engine knows about a node before deciding to run it. */
export type Evaluation =
  | { status: "unavailable"; reasons: Reason[] }
  | { status: "error"; reasons: Reason[]; problems: Problem[] }
  | { status: "blocked"; reasons: Reason[] }
  | { status: "will-fetch"; reasons: Reason[]; preimage: KeyPreimage; key: string; remote: RemoteHit }
  | {
      status: Extract<PlanStatus, "up-to-date" | "cached" | "will-run">;
      reasons: Reason[];
      preimage: KeyPreimage;
      key: string;
      /** Present when the store holds a complete result for this key: its output digest. */
      hit?: { output: string };
    };

/** Hashes a node's inputs, computes its key and looks it up: pure decisions, no stage code runs. */
export async function evaluateNode(
  env: EvalEnv,
  node: EngineNode,
  upstream: Record<string, string>,
): Promise<Evaluation> {
  const current = await currentPreimage(env, node, upstream);
  if (!current.ok) {
    const problems = current.error;
    return { status: "error", reasons: problems.map((p) => ({ type: "error", message: `${p.file}: ${p.message}` })), problems };
  }
  const preimage = current.value;
  const locked = env.lock[node.id];
  const key = (env.trustLock ? keyFromLock(preimage, locked, node.id, env.knownParams) : undefined) ?? computeKey(preimage);
  // Fast path of a no-op build: the lock already names this key and its output, so only check
  // that the result and the output's blobs are still in the store, without reading the result.
  if (locked?.key === key && (env.trustLock || (env.store.ac.has(key) && (await env.store.cas.isComplete(locked.output.digest))))) {
    return { status: "up-to-date", reasons: [], preimage, key, hit: { output: locked.output.digest } };
  }
  const found = await env.store.ac.get(key);
  const hit = found && (await env.store.cas.isComplete(found.output)) ? { output: found.output } : undefined;
  if (hit && locked?.key === key) return { status: "up-to-date", reasons: [], preimage, key, hit };
  const reasons = await reasonsAgainstLock(env, node, preimage, key);
  if (hit) return { status: "cached", reasons, preimage, key, hit };
  const remote = env.remote?.canRead ? await env.remote.lookup(key) : undefined;
  if (remote) return { status: "will-fetch", reasons, preimage, key, remote };
  return { status: "will-run", reasons, preimage, key };
}

/**
 * The common case of a build or plan, decided in one pass: nodes in dependency order (as given),
 * each evaluated with its upstreams' outputs, one await per node, without a graph of promises
 * (a no-op build of 1,000 nodes spent more on those than on deciding). Every evaluation lands in
 * `decided`. True when every node is up to date with its sabuild.lock entry (so the entry is its
 * lock entry) or unavailable by its own stage; false at the first other one (a node that will
 * run, an upstream outside the list), where the caller takes over with what was decided: each of
 * those was evaluated with upstreams that were up to date, so with the outputs it will see.
 */
export async function decideUpToDate(env: EvalEnv, nodes: EngineNode[], decided: Map<string, Evaluation>, interrupted?: () => boolean): Promise<boolean> {
  // Nothing runs in this pass: each file is statted once, however many nodes name it.
  const release = env.store.stat.holdStats();
  try {
    return await decidePass(env, nodes, decided, interrupted);
  } finally {
    release();
  }
}

async function decidePass(env: EvalEnv, nodes: EngineNode[], decided: Map<string, Evaluation>, interrupted?: () => boolean): Promise<boolean> {
  const outputs = new Map<string, string>();
  for (const node of nodes) {
    if (interrupted?.()) return false;
    if (node.stage.unavailable) {
      decided.set(node.id, { status: "unavailable", reasons: [{ type: "unavailable", message: node.stage.unavailable }] });
      continue;
    }
    const upstream: Record<string, string> = {};
    for (const name in node.deps) {
      const output = outputs.get(node.deps[name]!);
      if (output === undefined) return false;
      upstream[name] = output;
    }
    const ev = await evaluateNode(env, node, upstream);
    decided.set(node.id, ev);
    const locked = env.lock[node.id];
    if (ev.status !== "up-to-date" || !ev.hit || locked?.key !== ev.key || locked.output.digest !== ev.hit.output) return false;
    outputs.set(node.id, ev.hit.output);
  }
  return true;
}

/** The key preimage of a node as things are now: its params, hashed input files and toolchain. */
export async function currentPreimage(env: EvalEnv, node: EngineNode, upstream: Record<string, string>): Promise<Result<KeyPreimage, Problem[]>> {
  const inputs = await node.stage.inputs(node.context);
  if (!inputs.ok) return inputs;
  const files: Record<string, string> = {};
  let problems: Problem[] | undefined;
  for (const rel of inputs.value.files) {
    const path = join(env.root, rel);
    try {
      files[rel] = env.store.stat.knownDigest(path) ?? (await env.store.stat.digest(path));
    } catch {
      (problems ??= []).push({ file: rel, line: 0, column: 0, keyPath: [], message: `input file of ${node.id} is missing`, hint: "check the path in subagents.yaml" });
    }
  }
  if (problems) return err(problems);
  return ok({
    kind: node.kind,
    version: node.stage.version,
    params: inputs.value.params,
    files,
    upstream,
    // The env's record is shared by the nodes of a kind (and never written): no copy when the stage adds none.
    toolchain: inputs.value.toolchain ? { ...inputs.value.toolchain, ...env.toolchainOf(node) } : env.toolchainOf(node),
  });
}

async function reasonsAgainstLock(env: EvalEnv, node: EngineNode, preimage: KeyPreimage, key: string): Promise<Reason[]> {
  const locked = env.lock[node.id];
  if (!locked) return [{ type: "new" }];
  if (locked.key === key) return [{ type: "missing-output" }];
  const previous = await env.store.ac.get(locked.key);
  const reasons = previous ? diffPreimage(previous.preimage, preimage) : diffLockEntry(locked, preimage);
  return reasons.length ? reasons : [{ type: "params" }];
}
