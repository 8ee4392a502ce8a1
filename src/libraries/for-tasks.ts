import type { LoadedRanker, SearchHit, SearchOptions } from "./ranker.js";

export interface TaskQuery {
  id: string;
  prompt: string;
}

/** An entry ranked for a set of tasks: its summed relevance and the tasks it was a hit for. */
export interface TasksHit extends Omit<SearchHit, "score"> {
  score: number;
  tasks: string[];
}

/** Hits each task contributes: enough that an entry good for many tasks but first for none still counts. */
const PER_TASK = 10;

/**
 * Ranks entries for a set of tasks (the "N useful subagents for M benchmarks" step): each task's
 * prompt is a query, and an entry scores the sum over tasks of its score relative to that task's
 * best hit. Relative scores keep one long task, whose many terms give large raw BM25 scores,
 * from outweighing the rest: every task has the same say, 1 for its top hit.
 */
export function rankForTasks(ranker: LoadedRanker, tasks: TaskQuery[], options: SearchOptions): TasksHit[] {
  const byId = new Map<string, TasksHit>();
  for (const task of tasks) {
    const hits = ranker.search(task.prompt, { ...options, limit: Math.max(PER_TASK, options.limit) });
    const top = hits[0]?.score ?? 0;
    if (top <= 0) continue;
    for (const hit of hits) {
      const seen = byId.get(hit.id) ?? { ...hit, score: 0, matched: [], tasks: [] };
      seen.score += hit.score / top;
      seen.tasks.push(task.id);
      for (const m of hit.matched) if (!seen.matched.some((s) => s.term === m.term)) seen.matched.push(m);
      byId.set(hit.id, seen);
    }
  }
  return [...byId.values()]
    .map((h) => ({ ...h, score: Math.round(h.score * 1000) / 1000 }))
    .sort((a, b) => b.score - a.score || b.tasks.length - a.tasks.length || (a.id < b.id ? -1 : 1))
    .slice(0, options.limit);
}
