import { describe, expect, it } from "vitest";
import { normalQuantile } from "../src/bench/normal-quantile.js";
import { compareArms, mcnemarExact, summarizeArms, wilsonInterval, type BenchItem, type Comparison } from "../src/bench/stats.js";

/** An item with the given metrics; resolved unless said otherwise. */
const item = (task: string, arm: string, sample: number, metrics: Record<string, number | null>, resolved = true): BenchItem => ({ task, arm, sample, resolved, metrics });

/** The one comparison of `arm` against `reference`, failing the test on an error. */
function compareOne(items: BenchItem[], reference: string, arm: string, opts: Parameters<typeof compareArms>[2] = {}): Comparison {
  const r = compareArms(items, reference, { ...opts, arms: [arm] });
  if (!r.ok) throw new Error(`compareArms failed: ${JSON.stringify(r.error)}`);
  return r.value[0]!;
}

/**
 * Tasks whose reference spends 100 + 10*(i mod 3) tokens and whose arm spends 30 fewer, give or
 * take a noise pattern that sums to zero over every 5 tasks: the mean difference is exactly -30.
 */
function tokenDataset(tasks: number): BenchItem[] {
  const noise = [-6, -3, 0, 3, 6];
  const items: BenchItem[] = [];
  for (let i = 0; i < tasks; i++) {
    const ref = 100 + 10 * (i % 3);
    items.push(item(`t${i}`, "none", 0, { main_tokens: ref }));
    items.push(item(`t${i}`, "student", 0, { main_tokens: ref - 30 + noise[i % 5]! }));
  }
  return items;
}

describe("the exact McNemar test", () => {
  it("gives twice the smaller binomial tail: b=0, c=6 is 2/64", () => {
    expect(mcnemarExact(0, 6)).toEqual({ b: 0, c: 6, p_value: expect.closeTo(0.03125, 14) });
    expect(mcnemarExact(6, 0).p_value).toBeCloseTo(0.03125, 14);
  });

  it("gives p = 1 when the discordant counts are equal, and with none", () => {
    expect(mcnemarExact(4, 4).p_value).toBe(1);
    expect(mcnemarExact(7, 7).p_value).toBe(1);
    expect(mcnemarExact(0, 0).p_value).toBe(1);
  });

  it("matches the exact binomial test on small and textbook counts", () => {
    // b=3, c=12: 2 * (1 + 15 + 105 + 455) / 2^15.
    expect(mcnemarExact(3, 12).p_value).toBeCloseTo(0.03515625, 12);
    // b=1, c=9: 2 * 11 / 2^10.
    expect(mcnemarExact(1, 9).p_value).toBeCloseTo(0.021484375, 12);
    // Agresti's presidential-approval table (discordant 150 and 86); scipy.stats.binomtest(86, 236) gives 3.7159361395713866e-05.
    expect(mcnemarExact(150, 86).p_value / 3.7159361395713866e-5).toBeCloseTo(1, 8);
  });
});

describe("the normal quantile", () => {
  it("matches scipy.stats.norm.ppf to double precision in the centre, the tails and the far tails", () => {
    const cases: Array<[number, number]> = [
      [0.5, 0],
      [0.975, 1.959963984540054],
      [0.995, 2.5758293035489004],
      [0.025, -1.959963984540054],
      [0.9, 1.2815515655446004],
      [1e-6, -4.753424308822899],
      [1e-20, -9.262340089798408],
    ];
    for (const [p, z] of cases) expect([p, normalQuantile(p)]).toEqual([p, expect.closeTo(z, 13)]);
    expect([normalQuantile(0), normalQuantile(1), normalQuantile(1.5)]).toEqual([-Infinity, Infinity, NaN]);
  });
});

describe("the Wilson interval", () => {
  it("matches known values, inside [0, 1] with width at 0/n and n/n", () => {
    // Reference values from scipy.stats.binomtest(k, n).proportion_ci(method="wilson").
    const cases: Array<[number, number, number, number]> = [
      [0, 10, 0, 0.27753279986288926],
      [5, 10, 0.236593090512564, 0.7634069094874361],
      [10, 10, 0.7224672001371109, 1],
      [7, 20, 0.1811918241010821, 0.5671457233147637],
      [81, 263, 0.2552885198782742, 0.36620957698280004],
    ];
    for (const [k, n, low, high] of cases) {
      const ci = wilsonInterval(k, n)!;
      expect([k, n, ci.low]).toEqual([k, n, expect.closeTo(low, 7)]);
      expect([k, n, ci.high]).toEqual([k, n, expect.closeTo(high, 7)]);
      expect(ci.level).toBe(0.95);
    }
    expect(wilsonInterval(0, 0)).toBeNull();
  });

  it("is narrower than exact Clopper-Pearson, which is why it was chosen", () => {
    // Clopper-Pearson 95% for 7/20 is 0.1539..0.5922 (scipy, method="exact").
    const ci = wilsonInterval(7, 20)!;
    expect(ci.high - ci.low).toBeLessThan(0.5922 - 0.1539);
  });
});

describe("summarizeArms", () => {
  it("counts items, tasks and resolved, with a Wilson interval over items", () => {
    const items = [
      ...["a", "b", "c", "d"].flatMap((t, i) => [0, 1].map((s) => item(t, "none", s, { main_tokens: 100 }, (i + s) % 2 === 0))),
      item("a", "student", 0, { main_tokens: 50 }),
    ];
    const [none, student] = summarizeArms(items);
    expect(none).toMatchObject({ arm: "none", items: 8, tasks: 4, resolved: 4, resolve_rate: 0.5 });
    expect(none!.resolve_interval!.low).toBeCloseTo(wilsonInterval(4, 8)!.low, 12);
    expect(student).toMatchObject({ arm: "student", items: 1, tasks: 1, resolved: 1, resolve_rate: 1 });
  });

  it("leaves nulls out of mean and median and counts them; a metric an arm never has is all unmeasured", () => {
    const items = [
      item("a", "teacher", 0, { cost_usd: 1, wall_ms: 10 }),
      item("b", "teacher", 0, { cost_usd: null, wall_ms: 20 }),
      item("c", "teacher", 0, { cost_usd: 4, wall_ms: 90 }),
      item("a", "none", 0, { wall_ms: 5 }),
    ];
    const [teacher, none] = summarizeArms(items);
    expect(teacher!.metrics.cost_usd).toEqual({ measured: 2, unmeasured: 1, mean: 2.5, median: 2.5 });
    expect(teacher!.metrics.wall_ms).toEqual({ measured: 3, unmeasured: 0, mean: 40, median: 20 });
    expect(none!.metrics.cost_usd).toEqual({ measured: 0, unmeasured: 1, mean: null, median: null });
  });
});

describe("compareArms", () => {
  it("finds the true difference inside a bootstrap interval that narrows as tasks grow", () => {
    const widths = [10, 40, 160].map((tasks) => {
      const d = compareOne(tokenDataset(tasks), "none", "student").metrics.main_tokens!;
      expect(d.tasks).toBe(tasks);
      expect(d.mean_diff).toBeCloseTo(-30, 9);
      expect(d.mean_diff_interval!.low).toBeLessThan(-30);
      expect(d.mean_diff_interval!.high).toBeGreaterThan(-30);
      expect(d.relative_interval!.low).toBeLessThan(d.relative_pct!);
      expect(d.relative_interval!.high).toBeGreaterThan(d.relative_pct!);
      return d.mean_diff_interval!.high - d.mean_diff_interval!.low;
    });
    expect(widths[1]).toBeLessThan(widths[0]!);
    expect(widths[2]).toBeLessThan(widths[1]!);
  });

  it("takes the relative difference as a ratio of means", () => {
    const items = [item("a", "none", 0, { main_tokens: 100 }), item("b", "none", 0, { main_tokens: 300 }), item("a", "student", 0, { main_tokens: 50 }), item("b", "student", 0, { main_tokens: 250 })];
    const d = compareOne(items, "none", "student").metrics.main_tokens!;
    expect(d).toMatchObject({ reference_mean: 200, arm_mean: 150, mean_diff: -50, relative_pct: -25 });
  });

  it("is deterministic under the seed, whatever the order of the items", () => {
    const items = tokenDataset(20);
    const first = compareArms(items, "none");
    expect(compareArms(items, "none")).toEqual(first);
    expect(compareArms([...items].reverse(), "none")).toEqual(first);
    const other = compareOne(items, "none", "student", { seed: 7 }).metrics.main_tokens!;
    const base = compareOne(items, "none", "student").metrics.main_tokens!;
    expect(other.mean_diff).toBe(base.mean_diff);
    expect(other.mean_diff_interval).not.toEqual(base.mean_diff_interval);
    expect(compareOne(items, "none", "student", { seed: 7 }).metrics.main_tokens).toEqual(other);
  });

  it("gives a metric the same interval whichever other metrics are present", () => {
    const items = tokenDataset(20);
    const withMore = items.map((i) => ({ ...i, metrics: { ...i.metrics, answer_chars: i.task.length * 10 + i.sample } }));
    expect(compareOne(withMore, "none", "student").metrics.main_tokens).toEqual(compareOne(items, "none", "student").metrics.main_tokens);
  });

  it("averages a task's samples within an arm before pairing", () => {
    const items = [
      item("a", "none", 0, { main_calls: 10 }),
      ...[0, 1, 2].map((s) => item("a", "student", s, { main_calls: [4, 6, 8][s]! })),
      item("b", "none", 0, { main_calls: 20 }),
      item("b", "student", 0, { main_calls: 14 }),
    ];
    const d = compareOne(items, "none", "student").metrics.main_calls!;
    // Task a: 6 - 10; task b: 14 - 20; each task weighs once however many samples it has.
    expect(d).toMatchObject({ tasks: 2, reference_mean: 15, arm_mean: 10, mean_diff: -5 });
  });

  it("leaves out and lists a task that only one arm ran", () => {
    const items = [...tokenDataset(10), item("extra", "student", 0, { main_tokens: 1 }), item("lost", "none", 0, { main_tokens: 1e6 })];
    const c = compareOne(items, "none", "student");
    expect(c.tasks).toEqual({ paired: 10, only_arm: ["extra"], only_reference: ["lost"] });
    expect(c.metrics.main_tokens).toEqual(compareOne(tokenDataset(10), "none", "student").metrics.main_tokens);
  });

  it("leaves out and counts a task whose metric one arm never measured; partial nulls average the rest", () => {
    const items = [
      item("a", "teacher", 0, { cost_usd: 2 }),
      item("a", "student", 0, { cost_usd: 1 }),
      item("a", "student", 1, { cost_usd: null }),
      item("b", "teacher", 0, { cost_usd: null }),
      item("b", "student", 0, { cost_usd: 0.5 }),
    ];
    const d = compareOne(items, "teacher", "student").metrics.cost_usd!;
    expect(d).toMatchObject({ tasks: 1, unmeasured: 1, reference_mean: 2, arm_mean: 1, mean_diff: -1, relative_pct: -50 });
  });

  it("gives no relative difference when the reference never makes the count", () => {
    const items = ["a", "b", "c"].flatMap((t, i) => [item(t, "none", 0, { delegations: 0 }), item(t, "student", 0, { delegations: i + 1 })]);
    const d = compareOne(items, "none", "student").metrics.delegations!;
    expect(d).toMatchObject({ mean_diff: 2, relative_pct: null, relative_interval: null });
    expect(d.mean_diff_interval!.low).toBeGreaterThanOrEqual(1);
  });

  it("runs McNemar on each task's majority outcome, a tie going to the lowest sample", () => {
    const outcomes: Record<string, [boolean[], boolean[]]> = {
      // reference resolves (2 of 3), the arm does not (1 of 3): counts in b.
      a: [[true, true, false], [false, true, false]],
      // the arm resolves by majority, the reference does not: c.
      b: [[false, false, true], [true, true, false]],
      c: [[false, false, false], [true, false, true]],
      // a tie (1 of 2) goes to sample 0: reference unresolved, arm resolved: c.
      d: [[false, true], [true, false]],
      // concordant.
      e: [[true, true, true], [true, true, true]],
    };
    const items = Object.entries(outcomes).flatMap(([task, [ref, arm]]) => [
      ...ref.map((r, s) => item(task, "none", s, {}, r)),
      ...arm.map((r, s) => item(task, "student", s, {}, r)),
    ]);
    const c = compareOne(items, "none", "student");
    expect(c.resolved.mcnemar).toMatchObject({ b: 1, c: 3, tasks: 5, p_value: mcnemarExact(1, 3).p_value });
    // Per-task resolve rates: none (2/3 + 1/3 + 0 + 1/2 + 1) / 5, student (1/3 + 2/3 + 2/3 + 1/2 + 1) / 5.
    expect(c.resolved.rate.mean_diff).toBeCloseTo((-1 / 3 + 1 / 3 + 2 / 3 + 0 + 0) / 5, 12);
  });

  it("compares every other arm by default and reports an unknown arm or a bad option as a value", () => {
    const items = ["none", "teacher", "base", "student"].map((arm) => item("a", arm, 0, { main_tokens: 1 }));
    const all = compareArms(items, "teacher", { resamples: 100 });
    expect(all.ok && all.value.map((c) => c.arm)).toEqual(["none", "base", "student"]);
    expect(compareArms(items, "routed")).toEqual({ ok: false, error: { reason: "unknown_arm", arm: "routed", arms: ["none", "teacher", "base", "student"] } });
    expect(compareArms(items, "none", { resamples: 0 })).toEqual({ ok: false, error: { reason: "invalid_option", option: "resamples", value: 0 } });
    expect(compareArms(items, "none", { level: 1 })).toMatchObject({ ok: false, error: { option: "level" } });
  });
});
