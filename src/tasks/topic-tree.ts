import { BudgetExceededError } from "../llm/types.js";
import type { Result } from "../result.js";
import { words } from "./minhash.js";

/**
 * Topic expansion as deepfabric does it: the root is the subagent's purpose, each node asks the
 * teacher for `degree` distinct subtopics, `depth` levels down. A full tree makes
 * 1 + degree + ... + degree^(depth-1) requests and has degree^depth leaves. Requests of a level
 * go out together (the client limits how many are in flight); results are placed by position,
 * so the tree does not depend on which reply came back first.
 */

/** Asks for the subtopics below a path ([] is the root). An error value is a malformed reply. */
export type AskSubtopics = (path: readonly string[]) => Promise<Result<string[], string>>;

export interface TopicLeaf {
  /** Topics below the root, outermost first ([] for the root itself). */
  path: string[];
  /** Child index at each level: sorting by it gives tree order. */
  pos: number[];
}

export interface TopicTree {
  /** In tree order; a node whose expansion failed is a leaf. */
  leaves: TopicLeaf[];
  requests: number;
  warnings: string[];
  /** Why expansion stopped early (a spent budget), if it did. */
  stopped?: string;
}

export async function expandTopicTree(opts: {
  depth: number;
  degree: number;
  ask: AskSubtopics;
}): Promise<TopicTree> {
  const warnings: string[] = [];
  let frontier: TopicLeaf[] = [{ path: [], pos: [] }];
  const leaves: TopicLeaf[] = [];
  let requests = 0;
  let stopped: string | undefined;
  for (let level = 0; level < opts.depth && !stopped; level++) {
    const settled = await Promise.allSettled(frontier.map((node) => opts.ask(node.path)));
    const next: TopicLeaf[] = [];
    settled.forEach((s, i) => {
      const node = frontier[i]!;
      if (s.status === "rejected") {
        if (!(s.reason instanceof BudgetExceededError)) throw s.reason;
        stopped ??= s.reason.message;
        leaves.push(node);
        return;
      }
      requests++;
      if (!s.value.ok) {
        warnings.push(`topic "${label(node.path)}": could not read subtopics (${s.value.error}); kept as a leaf`);
        leaves.push(node);
        return;
      }
      const children = distinctTopics(s.value.value, node.path).slice(0, opts.degree);
      if (children.length < opts.degree) {
        warnings.push(`topic "${label(node.path)}": ${children.length} distinct subtopics of ${opts.degree} asked`);
      }
      if (children.length === 0) leaves.push(node);
      children.forEach((c, k) => next.push({ path: [...node.path, c], pos: [...node.pos, k] }));
    });
    frontier = next;
  }
  leaves.push(...frontier);
  leaves.sort((a, b) => compareTreeOrder(a.pos, b.pos));
  return { leaves, requests, warnings, ...(stopped ? { stopped } : {}) };
}

function label(path: readonly string[]): string {
  return path.length ? path.join(" > ") : "(root)";
}

/** Subtopics with list markers trimmed, without repeats or echoes of their ancestors. */
function distinctTopics(items: string[], path: readonly string[]): string[] {
  const seen = new Set(path.map((p) => words(p).join(" ")));
  const out: string[] = [];
  for (const item of items) {
    const topic = item.replace(/\s+/g, " ").replace(/[.:;,]+$/, "").trim().slice(0, 120);
    const key = words(topic).join(" ");
    if (!key || seen.has(key)) continue;
    seen.add(key);
    out.push(topic);
  }
  return out;
}

function compareTreeOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Leaves reordered so that any prefix is spread over the tree: by the last child index first
 * (for depth 2, degree 3: (0,0) (1,0) (2,0) (0,1) ...). A run that needs only a few leaves
 * then still draws from every top-level topic.
 */
export function spreadOrder(leaves: readonly TopicLeaf[]): TopicLeaf[] {
  return [...leaves].sort((a, b) => compareTreeOrder(a.pos.toReversed(), b.pos.toReversed()));
}
