import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedBenchmark } from "../config/benchmark-schema.js";
import type { ProjectConfig } from "../config/index.js";
import type { RunHooks } from "../engine/types.js";
import { countAnswerTokens } from "../traces/answer-tokens.js";
import { measure, type ItemMeasure, type Pricing } from "../bench/measure.js";
import { compareArms, summarizeArms, type BenchItem, type Comparison } from "../bench/stats.js";
import type { Arm, OrchestratorTrace } from "../bench/types.js";
import { builtinPricing } from "../llm/pricing.js";
import type { ProjectContext } from "./types.js";

export const BENCH_FILE = "bench.json";

/** The figures compared between arms: every numeric measure of an item (resolved is compared apart). */
const METRICS = [
  "main_tokens",
  "main_prompt_tokens",
  "main_completion_tokens",
  "main_calls",
  "tool_calls",
  "terminal_calls",
  "delegations",
  "subagent_tokens",
  "subagent_turns",
  "subagent_terminal_calls",
  "answer_chars",
  "answer_tokens",
  "wall_ms",
  "cost_usd",
] as const satisfies readonly (keyof ItemMeasure)[];

/** The comparisons bench.json carries: each arm against no subagent (the saving) and against the teacher (the loss). */
const REFERENCES: readonly Arm[] = ["none", "teacher"];

/**
 * Reads every item's trace from the runs node and writes bench.json: each item's figures, each
 * arm's summary, and the paired comparisons. A pure function of the traces and the pricing, so
 * changing the serving cost recomputes the figures without running a single item.
 */
export async function writeBenchSummary(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark): Promise<void> {
  const rows: (ItemMeasure & { id: string; task: string; arm: Arm; sample: number; status: string })[] = [];
  for (const { id, root, trace: file } of await benchItemDirs(ctx.upstream)) {
    const trace = JSON.parse(await readFile(join(root, file), "utf8")) as OrchestratorTrace & { task: { id: string }; sample?: number };
    const answers = await countAnswerTokens(trace.delegations.map((d) => d.answer));
    const m = measure(trace, pricingOf(ctx.project, b, trace.arm), answers.reduce((a, n) => a + n, 0));
    rows.push({ id, task: trace.task.id, arm: trace.arm, sample: trace.sample ?? 0, status: trace.status, ...m });
  }
  const items: BenchItem[] = rows.map((r) => ({ task: r.task, arm: r.arm, sample: r.sample, resolved: r.resolved, metrics: Object.fromEntries(METRICS.map((k) => [k, r[k]])) }));
  const comparisons: Record<string, Comparison[]> = {};
  for (const ref of REFERENCES) {
    if (!b.arms.includes(ref) || b.arms.length < 2) continue;
    const compared = compareArms(items, ref, { arms: b.arms.filter((a) => a !== ref) });
    // The arms come from this benchmark's own items and the options are the defaults: a failure here is ours.
    if (!compared.ok) throw new Error(`bench/${b.name}: comparing against ${ref}: ${JSON.stringify(compared.error)}`);
    comparisons[`vs_${ref}`] = compared.value;
  }
  const summary = summarizeArms(items);
  const out = { benchmark: b.name, arms: b.arms, samples: b.samples, tasks: new Set(rows.map((r) => r.task)).size, summary, comparisons, items: rows };
  await writeFile(join(ctx.outDir, BENCH_FILE), `${JSON.stringify(out, null, 1)}\n`);
  for (const s of summary) {
    const tokens = s.metrics.main_tokens?.mean;
    const cost = s.metrics.cost_usd;
    const costText = cost && cost.mean !== null ? `$${cost.mean.toFixed(4)} per item` : "cost unknown";
    ctx.log(`${s.arm}: ${s.resolved}/${s.items} resolved, ${tokens === null || tokens === undefined ? "?" : Math.round(tokens)} main-agent tokens per item, ${costText}`);
  }
}

/**
 * Every item of a benchmark's runs nodes (`runs`, and `routed` when the routed arm is in), by
 * id in order: the node's output directory and the trace's path in it.
 */
export async function benchItemDirs(upstream: RunHooks["upstream"]): Promise<{ id: string; root: string; trace: string }[]> {
  const out: { id: string; root: string; trace: string }[] = [];
  for (const name of ["runs", "routed"]) {
    const node = upstream[name];
    if (!node) continue;
    const ids = await readdir(join(node.dir, "items")).catch(() => [] as string[]);
    for (const id of ids) out.push({ id, root: node.dir, trace: `items/${id}/trace.json` });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** How an arm's models are priced: the orchestrator as the client prices it; the subagents by who plays them. */
function pricingOf(project: ProjectConfig, b: ResolvedBenchmark, arm: Arm): Pricing {
  const priced = (t: { pricing?: unknown; model: string }): boolean => t.pricing !== undefined || builtinPricing(t.model) !== undefined;
  const main = priced(b.orchestrator);
  if (arm === "student" || arm === "base") return { main, subagents: { kind: "local", ...(b.serving ? { cost: b.serving } : {}) } };
  // routed: priced as the teacher arm (its student part is local, counted as free unless serving is set).
  const teachers = b.subagents.map((n) => project.subagents.find((s) => s.name === n)!.teacher);
  return { main, subagents: { kind: "api", priced: teachers.every(priced) } };
}
