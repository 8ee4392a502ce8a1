import { sha256 } from "../engine/key.js";

/** A task's place in [0, 1): by a hash of its id, so adding or removing traces moves no other task. */
export function validationScore(taskId: string): number {
  return parseInt(sha256(`validation:${taskId}`).slice(0, 8), 16) / 0x1_0000_0000;
}

/**
 * Splits rows by task: every sample of a task lands on the same side, so validation loss is
 * measured on tasks the model never trained on. When every task would land in validation (a
 * handful of rows), the task scoring highest moves to train: training never starts empty.
 */
export function splitByTask<T>(rows: T[], taskOf: (row: T) => string, fraction: number): { train: T[]; validation: T[] } {
  const inValidation = new Set<string>();
  for (const r of rows) if (validationScore(taskOf(r)) < fraction) inValidation.add(taskOf(r));
  if (rows.length && rows.every((r) => inValidation.has(taskOf(r)))) {
    const last = [...inValidation].reduce((a, b) => (validationScore(b) > validationScore(a) ? b : a));
    inValidation.delete(last);
  }
  return {
    train: rows.filter((r) => !inValidation.has(taskOf(r))),
    validation: rows.filter((r) => inValidation.has(taskOf(r))),
  };
}
