/**
 * Grouping a benchmark's items by arm and task, the unit every paired comparison works on.
 * Pure data shaping, no statistics library: it is shared by the summaries and the comparisons.
 */

/** One benchmark item's measurements: what a (task, arm, sample) run produced. */
export interface BenchItem {
  task: string;
  arm: string;
  sample: number;
  resolved: boolean;
  /** Figures of the run by name; null when not measured (or not priced, for cost). */
  metrics: Record<string, number | null>;
}

/** One arm's items, by task id, each task's samples in sample order. */
export type ArmTasks = Map<string, BenchItem[]>;

/**
 * Items by arm, then by task, samples ordered by their number: every later step reads them in a
 * fixed order, so the input's order changes no figure (sums in floating point depend on order).
 */
export function groupByArm(items: readonly BenchItem[]): Map<string, ArmTasks> {
  const arms = new Map<string, ArmTasks>();
  for (const item of items) {
    let tasks = arms.get(item.arm);
    if (!tasks) arms.set(item.arm, (tasks = new Map()));
    const samples = tasks.get(item.task);
    if (samples) samples.push(item);
    else tasks.set(item.task, [item]);
  }
  for (const tasks of arms.values()) for (const samples of tasks.values()) samples.sort((a, b) => a.sample - b.sample);
  return arms;
}

/** Mean of a metric over a task's samples, nulls (and non-finite values) left out; null when none is measured. */
export function taskMetricMean(samples: readonly BenchItem[], metric: string): number | null {
  let sum = 0;
  let n = 0;
  for (const s of samples) {
    const v = s.metrics[metric];
    if (typeof v === "number" && Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  return n ? sum / n : null;
}

/** Fraction of a task's samples that resolved it. */
export function taskResolveRate(samples: readonly BenchItem[]): number {
  return samples.filter((s) => s.resolved).length / samples.length;
}

/**
 * One resolved/unresolved outcome per task for McNemar's test, which needs one binary pair per
 * task: the majority of its samples, a tie (even sample counts only) broken by the lowest-numbered
 * sample. The majority uses every sample, so a discordant task is one where the arms differ most of
 * the time, not one sample's luck (taking the first sample alone would throw away two thirds of the
 * data at the default 3 samples). Ties fall to a real observation instead of a fixed "unresolved",
 * which would count against the arm whose outcomes vary more.
 */
export function taskMajorityResolved(samples: readonly BenchItem[]): boolean {
  const resolved = samples.filter((s) => s.resolved).length;
  const unresolved = samples.length - resolved;
  if (resolved !== unresolved) return resolved > unresolved;
  return samples[0]?.resolved ?? false;
}

/** Sorted ids of the tasks both arms ran, and of those only one of them ran. */
export function pairTasks(arm: ArmTasks, reference: ArmTasks): { paired: string[]; onlyArm: string[]; onlyReference: string[] } {
  const paired = [...arm.keys()].filter((t) => reference.has(t)).sort();
  const onlyArm = [...arm.keys()].filter((t) => !reference.has(t)).sort();
  const onlyReference = [...reference.keys()].filter((t) => !arm.has(t)).sort();
  return { paired, onlyArm, onlyReference };
}
