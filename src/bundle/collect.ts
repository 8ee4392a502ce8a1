import { statSync } from "node:fs";
import { UserInputError } from "../errors.js";
import { selectNodes } from "../engine/graph.js";
import { planNodes } from "../engine/plan.js";
import type { Session } from "../project.js";
import type { ActionResult, Store } from "../store/index.js";
import { blobsOfResult, type BundleBlob } from "./format.js";

export interface CollectedResult {
  /** `<subagent>:<stage>`, or `<subagent>:<stage>[<item>]` for an item of a map stage. */
  stage: string;
  result: ActionResult;
  blobs: BundleBlob[];
}

export interface Collection {
  /** The named stages that have a current result. */
  stages: { id: string; key: string; output: string; items: number }[];
  /** What goes into the bundle: item results come before the stage result they make up. */
  results: CollectedResult[];
  /** Named stages with no output for their current inputs, and why. */
  skipped: { id: string; status: string }[];
  /** Items of exported map stages whose own result is gone (gc): they are left out. */
  missingItems: string[];
}

/**
 * The current results of the named stages (not of their dependencies: `plan` evaluates those
 * only to compute the named stages' keys), with every blob each one needs.
 */
export async function collectResults(session: Session, targets: string[]): Promise<Collection> {
  const { selected, named } = selectNodes(session.nodes, targets);
  // Only what this store holds: an export never asks a remote cache (air-gapped machines).
  const { evals } = await planNodes({ ...session.env, remote: undefined }, selected);
  const store = session.store;
  const collection: Collection = { stages: [], results: [], skipped: [], missingItems: [] };
  const seen = new Set<string>();
  const add = async (stage: string, result: ActionResult): Promise<void> => {
    // Two subagents with equal inputs share one result: it goes in once.
    if (seen.has(result.key)) return;
    seen.add(result.key);
    collection.results.push({ stage, result, blobs: await presentBlobs(store, stage, result) });
  };
  for (const node of selected) {
    if (!named.has(node.id)) continue;
    const e = evals.get(node.id)!;
    if (!("hit" in e) || !e.hit) {
      collection.skipped.push({ id: node.id, status: e.status });
      continue;
    }
    const result = await store.ac.get(e.key);
    if (!result) {
      throw new UserInputError(`${node.id}: its output is in the store but its action result (key ${e.key.slice(0, 12)}) is not; run \`sabuild cache verify\`, then \`sabuild build ${node.id}\``);
    }
    for (const item of result.items ?? []) {
      const itemResult = await store.ac.get(item.key);
      if (itemResult) await add(`${node.id}[${item.id}]`, itemResult);
      else collection.missingItems.push(`${node.id}[${item.id}]`);
    }
    await add(node.id, result);
    collection.stages.push({ id: node.id, key: result.key, output: result.output, items: result.items?.length ?? 0 });
  }
  return collection;
}

/** The result's blobs with their sizes in the store; a missing or truncated one is an error. */
async function presentBlobs(store: Store, stage: string, result: ActionResult): Promise<BundleBlob[]> {
  const manifest = await store.cas.readManifest(result.output).catch(() => undefined);
  if (!manifest) throw new UserInputError(`${stage}: output manifest ${result.output.slice(0, 12)} is missing from the store; run \`sabuild build ${stage}\``);
  const blobs = new Map<string, number>();
  for (const { digest, size } of blobsOfResult(result, manifest)) {
    const st = statSync(store.cas.blobPath(digest), { throwIfNoEntry: false });
    if (!st || (size !== undefined && st.size !== size)) {
      throw new UserInputError(`${stage}: blob ${digest.slice(0, 12)} is ${st ? "damaged" : "missing"} in the store; run \`sabuild cache verify\`, then \`sabuild build\``);
    }
    blobs.set(digest, st.size);
  }
  return [...blobs].map(([digest, size]) => ({ digest, size }));
}
