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
