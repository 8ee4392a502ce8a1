/**
 * The three inferential tools the benchmark needs: a Wilson interval for a resolve rate, an exact
 * McNemar test for paired resolved/unresolved outcomes, and a seeded percentile bootstrap.
 *
 * simple-statistics (ISC, zero dependencies, one typed ES module, maintained) gives the binomial
 * mass function (`binomialDistribution`, through log-gamma so it holds far past 2^53 coefficients),
 * numpy's type-7 quantile (`quantileSorted`), mean and median; not its `probit`, which is accurate
 * to three digits only (normal-quantile.ts says what is used instead).
 * pure-rand (MIT, zero dependencies, the PRNG behind fast-check) gives a seedable generator and an
 * unbiased uniform integer draw; Math.random cannot be seeded and the same input must give the
 * same bench.json. jstat and @stdlib/* were passed over: jstat is untyped CommonJS, last published
 * in 2024, and rounds its binomial CDF to 10 decimals; @stdlib's binomial test installs ~18 direct
 * packages with their own trees, for what is here a sum of a few binomial cells. Only what neither
 * library offers is written here: the Wilson formula, the two-sided McNemar p from the mass
 * function, and the resampling loop.
 *
 * These modules load only when a benchmark computes its statistics: the benchmark node imports
 * this folder with a dynamic import, so a no-op build never loads either library.
 */
import { binomialDistribution, quantileSorted } from "simple-statistics";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { normalQuantile } from "./normal-quantile.js";

/** A two-sided interval; `level` is its nominal coverage (0.95 for a 95% interval). */
export interface Interval {
  low: number;
  high: number;
  level: number;
}

/**
 * Wilson score interval for `successes` out of `trials`.
 *
 * Wilson rather than exact Clopper-Pearson: Clopper-Pearson guarantees at least the nominal
 * coverage and so is conservative (its 95% interval for 7/20 is 0.154..0.592 against Wilson's
 * 0.181..0.567); Wilson's coverage stays close to nominal on average even for the 10-50 tasks a
 * benchmark has (Brown, Cai & DasGupta 2001 recommend it for small n), it never leaves [0, 1] and
 * still has width at 0/n and n/n, unlike the Wald interval. It also needs only the normal
 * quantile, not a beta quantile, which no light library gives. Null when there are no trials.
 */
export function wilsonInterval(successes: number, trials: number, level = 0.95): Interval | null {
  if (trials <= 0) return null;
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  // At 0/n and n/n the formula lands on the bound up to rounding; clamp so it reads as 0 and 1.
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half), level };
}

/** McNemar's test on the discordant pairs of a paired binary outcome. */
export interface McNemar {
  /** Tasks the reference resolved and the arm did not. */
  b: number;
  /** Tasks the arm resolved and the reference did not. */
  c: number;
  /** Two-sided exact p-value: b given b + c is Binomial(b + c, 1/2) under no difference. */
  p_value: number;
}

/**
 * Exact (binomial) McNemar test. The large-sample chi-square form is wrong at the handful of
 * discordant tasks a benchmark has; the exact form is the conditional binomial test, and since
 * Binomial(n, 1/2) is symmetric its two-sided p is twice the smaller tail, capped at 1.
 */
export function mcnemarExact(b: number, c: number): McNemar {
  const n = b + c;
  if (n === 0) return { b, c, p_value: 1 };
  const cells = binomialDistribution(n, 0.5);
  // undefined only past simple-statistics' million-cell table, far beyond any benchmark's tasks.
  if (!cells) throw new Error(`binomial distribution for ${n} discordant tasks is out of range`);
  // The table stops once its running sum is within 1e-4 of 1, always past the mean for p = 1/2,
  // so every cell up to min(b, c) <= n/2 is present.
  let tail = 0;
  for (let k = 0; k <= Math.min(b, c); k++) tail += cells[k] ?? 0;
  return { b, c, p_value: Math.min(1, 2 * tail) };
}

/** Bootstrap settings: the same seed and count give the same intervals. */
export interface BootstrapOptions {
  resamples: number;
  seed: number;
  level: number;
}

/** One figure's per-task values in the reference and the arm, aligned by task. */
export interface PairedColumn {
  reference: Float64Array;
  arm: Float64Array;
}

/** Bootstrap intervals of one column's mean difference and relative difference (%). */
export interface PairedIntervals {
  diff: Interval | null;
  /** Null when some resample's reference sum is 0, where the ratio is undefined. */
  relative: Interval | null;
}

/**
 * Percentile bootstrap over tasks for columns that share their tasks: each resample draws n task
 * indices with replacement and, for every column, takes mean(arm - reference) and
 * 100 * (sum arm / sum reference - 1) over them. The index stream depends only on the seed and n,
 * so a column's intervals are the same whichever other columns are passed with it; passing them
 * together draws the indices once (the draws were half the time of a 500-task benchmark).
 */
export function bootstrapPaired(n: number, columns: readonly PairedColumn[], opts: BootstrapOptions): PairedIntervals[] {
  if (n === 0) return columns.map(() => ({ diff: null, relative: null }));
  const rng = xoroshiro128plus(opts.seed);
  const diffs = columns.map(() => new Float64Array(opts.resamples));
  const ratios = columns.map(() => new Float64Array(opts.resamples));
  const ratioDefined = columns.map(() => true);
  const indices = new Int32Array(n);
  for (let r = 0; r < opts.resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = uniformInt(rng, 0, n - 1);
    columns.forEach(({ reference, arm }, c) => {
      let sumRef = 0;
      let sumArm = 0;
      for (let i = 0; i < n; i++) {
        sumRef += reference[indices[i]!]!;
        sumArm += arm[indices[i]!]!;
      }
      diffs[c]![r] = (sumArm - sumRef) / n;
      if (sumRef === 0) ratioDefined[c] = false;
      else ratios[c]![r] = 100 * (sumArm / sumRef - 1);
    });
  }
  return columns.map((_, c) => ({
    diff: percentileInterval(diffs[c]!, opts.level),
    relative: ratioDefined[c] ? percentileInterval(ratios[c]!, opts.level) : null,
  }));
}

/** The central `level` of a bootstrap distribution, by numpy's default (type 7) quantiles. */
function percentileInterval(draws: Float64Array, level: number): Interval {
  const sorted = Array.from(draws.sort());
  const alpha = (1 - level) / 2;
  return { low: quantileSorted(sorted, alpha), high: quantileSorted(sorted, 1 - alpha), level };
}
