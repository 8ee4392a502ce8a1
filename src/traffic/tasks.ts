import type { Task } from "../stages/task-files.js";
import { NearDuplicateIndex } from "../tasks/minhash.js";
import { readTraffic } from "./read.js";
import { recordedTaskId } from "./summary.js";

/**
 * Recorded prompts as tasks (tasks.from_recorded): in the order they were recorded, each kept
 * unless it is a near-duplicate (the MinHash index the teacher's tasks are deduplicated with) of
 * a task already there or of an earlier recorded one. The held-out split is the caller's, by
 * the same hash of the text as every task, so a recorded prompt lands where its text says.
 */
export async function recordedTasks(store: string, subagent: string, existing: Task[], threshold: number): Promise<{ tasks: Task[]; duplicates: number; skipped: number; records: number }> {
  const { records, skipped } = await readTraffic(store, subagent);
  const index = new NearDuplicateIndex(threshold);
  for (const t of existing) index.add(t.prompt);
  const tasks: Task[] = [];
  let duplicates = 0;
  for (const { record } of records) {
    if (!record.prompt.trim()) continue;
    if (index.find(record.prompt)) {
      duplicates++;
      continue;
    }
    index.add(record.prompt);
    tasks.push({
      id: recordedTaskId(record.prompt),
      prompt: record.prompt,
      tags: ["recorded"],
      // The record's id, not its file and line: rotation renames the file, and a task that changes
      // reruns its rollouts.
      origin: `traffic:${record.id}`,
    });
  }
  return { tasks, duplicates, skipped: skipped.length, records: records.length };
}
