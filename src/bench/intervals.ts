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

/**
 * Percentile bootstrap over paired units (tasks): each resample draws `n` units with replacement
 * and evaluates every statistic on it; returns each statistic's interval (null when it was
 * undefined on some resample, e.g. a ratio whose denominator resampled to zero).
 * `statistics` take the drawn indices so they can resample several columns in step.
 */
export function bootstrapIntervals(
  n: number,
  statistics: ReadonlyArray<(indices: Int32Array) => number | null>,
  opts: BootstrapOptions,
): Array<Interval | null> {
  if (n === 0 || opts.resamples <= 0) return statistics.map(() => null);
  const rng = xoroshiro128plus(opts.seed);
  const draws = statistics.map(() => new Float64Array(opts.resamples));
  const defined = statistics.map(() => true);
  const indices = new Int32Array(n);
  for (let r = 0; r < opts.resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = uniformInt(rng, 0, n - 1);
    statistics.forEach((stat, s) => {
      const v = stat(indices);
      if (v === null || !Number.isFinite(v)) defined[s] = false;
      else draws[s]![r] = v;
    });
  }
  const alpha = (1 - opts.level) / 2;
  return draws.map((d, s) => {
    if (!defined[s]) return null;
    const sorted = Array.from(d.sort());
    return { low: quantileSorted(sorted, alpha), high: quantileSorted(sorted, 1 - alpha), level: opts.level };
  });
}
