import { readFile } from "node:fs/promises";
import { join } from "node:path";
import MiniSearch from "minisearch";
import { NEIGHBOURS } from "./policy.js";

/**
 * The learned router: k nearest neighbours over BM25. A task's predicted student success is the
 * mean outcome of the recorded tasks most like it (BM25 scores from MiniSearch, weights relative
 * to the best match), shrunk towards the overall success rate by a prior of one task, so a task
 * like nothing seen scores the base rate.
 *
 * Why this and not TF-IDF with logistic regression: eval gives tens to a few hundred outcomes,
 * too few to fit a regularised linear model over a vocabulary of thousands without tuning its
 * penalty per project; kNN has nothing to fit, its one constant (k) is not a knob users must
 * tune, a new outcome counts at once, and a decision can be explained by the tasks it matched.
 * MiniSearch is already sabuild's search library (the local WebSearch corpus): maintained, no
 * dependencies, BM25+ ranking; no new package for one more use.
 */

export const ROUTER_FILE = "router.json";

/** One recorded outcome: a task's text and whether the student succeeded on it. */
export interface Outcome {
  id: string;
  text: string;
  success: boolean;
  /** Where the outcome was recorded: eval's held-out tasks, or a benchmark's delegations. */
  source: "eval" | "bench";
}

/** router.json: the router model as the router stage writes it. */
export interface RouterFile {
  version: 1;
  method: "knn-bm25";
  k: number;
  /** The students' success rate over all outcomes: the score of a task unlike any seen. */
  base_rate: number;
  outcomes: Outcome[];
}

export interface Router {
  /** Predicted chance (0..1) that the student succeeds on the task. */
  score(task: string): number;
  /** The same, with one recorded outcome left out (leave-one-out, for the cost-quality curve). */
  scoreWithout(task: string, id: string): number;
}

export function routerFile(outcomes: Outcome[], k = NEIGHBOURS): RouterFile {
  const base = outcomes.length ? outcomes.filter((o) => o.success).length / outcomes.length : 0.5;
  return { version: 1, method: "knn-bm25", k, base_rate: base, outcomes };
}

export function openRouter(file: RouterFile): Router {
  const index = new MiniSearch<Outcome>({ fields: ["text"], storeFields: [] });
  index.addAll(file.outcomes);
  const byId = new Map(file.outcomes.map((o) => [o.id, o]));
  const score = (task: string, leaveOut?: string): number => {
    const hits = index.search(task, { combineWith: "OR", ...(leaveOut !== undefined ? { filter: (r) => r.id !== leaveOut } : {}) }).slice(0, file.k);
    const top = hits[0]?.score ?? 0;
    let weighted = 0;
    let weights = 0;
    for (const h of hits) {
      const w = h.score / top;
      weighted += w * (byId.get(String(h.id))!.success ? 1 : 0);
      weights += w;
    }
    return (weighted + file.base_rate) / (weights + 1);
  };
  return { score: (task) => score(task), scoreWithout: (task, id) => score(task, id) };
}

/** Reads router.json from the router stage's output; a string says why it cannot be used. */
export async function readRouter(dir: string): Promise<Router | string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(dir, ROUTER_FILE), "utf8"));
  } catch (e) {
    return `its router output has no readable ${ROUTER_FILE} (${(e as Error).message})`;
  }
  const f = parsed as Partial<RouterFile>;
  if (f.version !== 1 || f.method !== "knn-bm25" || !Array.isArray(f.outcomes) || typeof f.k !== "number" || typeof f.base_rate !== "number") return `its ${ROUTER_FILE} is not a version 1 knn-bm25 router`;
  return openRouter(f as RouterFile);
}
