/**
 * The statistics of bench.json: per-arm summaries and paired comparisons of arms against a
 * reference arm (`none`, `teacher`). Pure functions of the items; the same items and options give
 * the same figures to the last bit. Load with a dynamic import from the benchmark node only: it
 * brings in simple-statistics and pure-rand (see intervals.ts), which a no-op build must not load.
 */
import { mean, median } from "simple-statistics";
import { err, ok, type Result } from "../result.js";
import { bootstrapPaired, mcnemarExact, wilsonInterval, type Interval, type McNemar, type PairedIntervals } from "./intervals.js";
import { groupByArm, pairTasks, taskMajorityResolved, taskMetricMean, taskResolveRate, type ArmTasks, type BenchItem } from "./pairing.js";

export type { BenchItem } from "./pairing.js";
export type { Interval, McNemar } from "./intervals.js";
export { mcnemarExact, wilsonInterval } from "./intervals.js";

/** One metric over an arm's items. */
export interface MetricSummary {
  /** Items with a value. */
  measured: number;
  /** Items whose value is null (not measured, or unpriced for cost): left out of mean and median. */
  unmeasured: number;
  /** Null when no item is measured. */
  mean: number | null;
  median: number | null;
}

export interface ArmSummary {
  arm: string;
  /** Items (task x sample) and distinct tasks. */
  items: number;
  tasks: number;
  resolved: number;
  /** resolved / items. */
  resolve_rate: number;
  /**
   * Wilson 95% interval of the resolve rate over items. Samples of one task are correlated, so
   * with several samples this is narrower than an interval over tasks would be; the paired
   * comparisons resample tasks and do not share that caveat.
   */
  resolve_interval: Interval | null;
  metrics: Record<string, MetricSummary>;
}

/** Every metric name any item carries, sorted: each arm reports all of them, measured or not. */
function metricNames(items: readonly BenchItem[]): string[] {
  return [...new Set(items.flatMap((i) => Object.keys(i.metrics)))].sort();
}

function metricSummary(values: ReadonlyArray<number | null | undefined>): MetricSummary {
  const measured = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return {
    measured: measured.length,
    unmeasured: values.length - measured.length,
    mean: measured.length ? mean(measured) : null,
    median: measured.length ? median(measured) : null,
  };
}

function armSummary(arm: string, tasks: ArmTasks, metrics: readonly string[], level: number): ArmSummary {
  const items = [...tasks.keys()].sort().flatMap((t) => tasks.get(t)!);
  const resolved = items.filter((i) => i.resolved).length;
  return {
    arm,
    items: items.length,
    tasks: tasks.size,
    resolved,
    resolve_rate: items.length ? resolved / items.length : 0,
    resolve_interval: wilsonInterval(resolved, items.length, level),
    metrics: Object.fromEntries(metrics.map((m) => [m, metricSummary(items.map((i) => i.metrics[m]))])),
  };
}

/** One summary per arm, in the order arms first appear in the items. */
export function summarizeArms(items: readonly BenchItem[], opts: { level?: number } = {}): ArmSummary[] {
  const metrics = metricNames(items);
  return [...groupByArm(items)].map(([arm, tasks]) => armSummary(arm, tasks, metrics, opts.level ?? 0.95));
}

/** The arm minus the reference over the tasks both measured, per-task means first. */
export interface PairedDifference {
  /** Paired tasks measured in both arms: the bootstrap's units. */
  tasks: number;
  /** Paired tasks left out because one arm has no measured sample of the task. */
  unmeasured: number;
  reference_mean: number | null;
  arm_mean: number | null;
  /** arm_mean - reference_mean, which is also the mean of the per-task differences. */
  mean_diff: number | null;
  mean_diff_interval: Interval | null;
  /**
   * 100 * (arm_mean / reference_mean - 1): the ratio of means, as "30% fewer tokens" is read, not
   * the mean of per-task ratios, which a task with a near-zero reference would dominate. Null when
   * the reference mean is 0 (a count the reference never makes, such as delegations under `none`).
   */
  relative_pct: number | null;
  /** Null also when some resample's reference mean is 0. */
  relative_interval: Interval | null;
}

export interface Comparison {
  arm: string;
  reference: string;
  /** Tasks both arms ran, and the ids of those only one ran (left out of every figure below). */
  tasks: { paired: number; only_arm: string[]; only_reference: string[] };
  resolved: {
    /** Per-task resolve rate (fraction of its samples), paired. */
    rate: PairedDifference;
    /** Exact McNemar on each task's majority outcome (see taskMajorityResolved). */
    mcnemar: McNemar & { tasks: number; rule: "majority, tie to lowest sample" };
  };
  metrics: Record<string, PairedDifference>;
}

export interface CompareOptions {
  /** Bootstrap resamples (default 10,000). */
  resamples?: number;
  /**
   * PRNG seed (default 1). Every figure's resampling starts from it afresh, so a figure's interval
   * depends only on its own values, the seed and the count: adding a metric changes no other.
   */
  seed?: number;
  /** Interval coverage (default 0.95). */
  level?: number;
  /** Arms to compare, in this order (default: every other arm, in order of first appearance). */
  arms?: readonly string[];
}

export type StatsFailure =
  | { reason: "unknown_arm"; arm: string; arms: string[] }
  | { reason: "invalid_option"; option: "resamples" | "seed" | "level"; value: number };

type Settings = Required<Omit<CompareOptions, "arms">>;

/** One figure's values per paired task (aligned), and how many paired tasks it had to leave out. */
interface PairedValues {
  reference: number[];
  arm: number[];
  unmeasured: number;
}

function pairedDifference(values: PairedValues, intervals: PairedIntervals): PairedDifference {
  if (values.reference.length === 0) {
    return { tasks: 0, unmeasured: values.unmeasured, reference_mean: null, arm_mean: null, mean_diff: null, mean_diff_interval: null, relative_pct: null, relative_interval: null };
  }
  const refMean = mean(values.reference);
  const armMean = mean(values.arm);
  return {
    tasks: values.reference.length,
    unmeasured: values.unmeasured,
    reference_mean: refMean,
    arm_mean: armMean,
    mean_diff: armMean - refMean,
    mean_diff_interval: intervals.diff,
    relative_pct: refMean === 0 ? null : 100 * (armMean / refMean - 1),
    relative_interval: refMean === 0 ? null : intervals.relative,
  };
}

/** Paired differences of several figures; those with the same number of tasks share one bootstrap pass. */
function pairedDifferences(figures: readonly PairedValues[], opts: Settings): PairedDifference[] {
  const byTasks = new Map<number, number[]>();
  figures.forEach((f, i) => byTasks.set(f.reference.length, [...(byTasks.get(f.reference.length) ?? []), i]));
  const out: PairedDifference[] = [];
  for (const [n, members] of byTasks) {
    const columns = members.map((i) => ({ reference: Float64Array.from(figures[i]!.reference), arm: Float64Array.from(figures[i]!.arm) }));
    const intervals = bootstrapPaired(n, columns, opts);
    members.forEach((i, k) => (out[i] = pairedDifference(figures[i]!, intervals[k]!)));
  }
  return out;
}

function compareOne(arm: string, armTasks: ArmTasks, reference: string, refTasks: ArmTasks, metrics: readonly string[], opts: Settings): Comparison {
  const { paired, onlyArm, onlyReference } = pairTasks(armTasks, refTasks);
  const refOf = (t: string) => refTasks.get(t)!;
  const armOf = (t: string) => armTasks.get(t)!;
  let b = 0;
  let c = 0;
  for (const t of paired) {
    const refResolved = taskMajorityResolved(refOf(t));
    const armResolved = taskMajorityResolved(armOf(t));
    if (refResolved && !armResolved) b++;
    if (!refResolved && armResolved) c++;
  }
  const resolveRates: PairedValues = { reference: paired.map((t) => taskResolveRate(refOf(t))), arm: paired.map((t) => taskResolveRate(armOf(t))), unmeasured: 0 };
  const metricValues = metrics.map((m): PairedValues => {
    const values: PairedValues = { reference: [], arm: [], unmeasured: 0 };
    for (const t of paired) {
      const rv = taskMetricMean(refOf(t), m);
      const av = taskMetricMean(armOf(t), m);
      if (rv === null || av === null) values.unmeasured++;
      else {
        values.reference.push(rv);
        values.arm.push(av);
      }
    }
    return values;
  });
  const [rate, ...metricDiffs] = pairedDifferences([resolveRates, ...metricValues], opts);
  return {
    arm,
    reference,
    tasks: { paired: paired.length, only_arm: onlyArm, only_reference: onlyReference },
    resolved: {
      rate: rate!,
      mcnemar: { ...mcnemarExact(b, c), tasks: paired.length, rule: "majority, tie to lowest sample" },
    },
    metrics: Object.fromEntries(metrics.map((m, i) => [m, metricDiffs[i]!])),
  };
}

function checkOptions(opts: CompareOptions): Result<Settings, StatsFailure> {
  const resolved = { resamples: opts.resamples ?? 10_000, seed: opts.seed ?? 1, level: opts.level ?? 0.95 };
  if (!Number.isInteger(resolved.resamples) || resolved.resamples < 1) return err({ reason: "invalid_option", option: "resamples", value: resolved.resamples });
  if (!Number.isInteger(resolved.seed)) return err({ reason: "invalid_option", option: "seed", value: resolved.seed });
  if (!(resolved.level > 0 && resolved.level < 1)) return err({ reason: "invalid_option", option: "level", value: resolved.level });
  return ok(resolved);
}

/**
 * Each arm against `reference`, paired by task: a task's samples are averaged within an arm first,
 * then the arms' per-task values are differenced, so a task run 3 times weighs as much as one run
 * once and the bootstrap resamples tasks, the unit the benchmark draws. A task only one arm ran is
 * left out of that comparison and listed.
 */
export function compareArms(items: readonly BenchItem[], reference: string, opts: CompareOptions = {}): Result<Comparison[], StatsFailure> {
  const checked = checkOptions(opts);
  if (!checked.ok) return checked;
  const byArm = groupByArm(items);
  const known = [...byArm.keys()];
  const refTasks = byArm.get(reference);
  if (!refTasks) return err({ reason: "unknown_arm", arm: reference, arms: known });
  const arms = opts.arms ?? known.filter((a) => a !== reference);
  const missing = arms.find((a) => !byArm.has(a));
  if (missing !== undefined) return err({ reason: "unknown_arm", arm: missing, arms: known });
  const metrics = metricNames(items);
  return ok(arms.filter((a) => a !== reference).map((a) => compareOne(a, byArm.get(a)!, reference, refTasks, metrics, checked.value)));
}
