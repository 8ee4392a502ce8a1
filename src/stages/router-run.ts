import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { costQualityCurve, type CurveTask, type MainTokensSource } from "../route/curve.js";
import { openRouter, routerFile, ROUTER_FILE, type Outcome } from "../route/router.js";
import type { ReadEvalResult } from "../artifacts/index.js";
import type { OrchestratorTrace } from "../bench/types.js";
import { routerBenchmarks } from "./router.js";
import type { RunContext } from "./types.js";

export const CURVE_FILE = "curve.json";

/**
 * Trains the router on eval.json's tasks (the student's success on each held-out task) and the
 * student's delegations in the benchmarks offering the subagent, and writes its curve over
 * eval's tasks the teacher was also run on, with the main agent's tokens from the benchmarks.
 * Without outcomes the router scores the base rate (0.5) for every task, and says so.
 */
export async function runRouter(ctx: RunContext): Promise<void> {
  const artifacts = await import("../artifacts/index.js");
  const evalDir = ctx.upstream.eval;
  if (!evalDir) throw new Error("the router stage runs after eval");
  const read = await artifacts.readEvalResult(evalDir.dir);
  // An eval stage of a plugin's may write its own format: the router then has nothing to learn
  // from (it scores the base rate), which must not fail the build of what comes after it.
  if (!read.ok) ctx.log(`warning: no outcomes to train the router on: ${artifacts.describeArtifactError(read.error)}`, "warn");
  const result: Pick<ReadEvalResult, "tasks" | "models"> = read.ok ? read.value : { tasks: [], models: {} };
  const outcomes: Outcome[] = [];
  for (const t of result.tasks) {
    const s = t.results.student;
    if (s) outcomes.push({ id: t.id, text: t.prompt, success: s.success, source: "eval" });
  }
  const bench = await readBenchmarks(ctx);
  outcomes.push(...bench.outcomes);
  if (!outcomes.length) ctx.log("warning: neither eval nor a benchmark recorded a student outcome: the router predicts the base rate for every task", "warn");
  const file = routerFile(outcomes);
  const router = openRouter(file);
  await writeFile(join(ctx.outDir, ROUTER_FILE), `${JSON.stringify(file, null, 2)}\n`);

  const curveTasks: CurveTask[] = [];
  for (const t of result.tasks) {
    const s = t.results.student;
    const teacher = t.results.teacher;
    if (s && teacher) curveTasks.push({ score: router.scoreWithout(t.prompt, t.id), student: s.success, teacher: teacher.success });
  }
  const cost = { student: result.models.student?.cost_per_task_usd ?? 0, teacher: result.models.teacher?.cost_per_task_usd ?? 0 };
  const curve = costQualityCurve(curveTasks, cost, bench.tokens);
  await writeFile(join(ctx.outDir, CURVE_FILE), `${JSON.stringify(curve, null, 2)}\n`);
  const evalCount = outcomes.length - bench.outcomes.length;
  const tokens = "missing" in bench.tokens ? `main-agent tokens unknown (${bench.tokens.missing})` : `main-agent tokens ${Math.round(bench.tokens.student)} (student) to ${Math.round(bench.tokens.teacher)} (teacher) per task`;
  ctx.log(`router: ${evalCount} eval and ${bench.outcomes.length} benchmark outcomes (student success ${(file.base_rate * 100).toFixed(0)}%); curve over ${curve.tasks} tasks, APGR ${curve.apgr === null ? "n/a" : curve.apgr.toFixed(3)}; ${tokens}`);
}

/**
 * What the benchmarks offering the subagent recorded (their runs nodes: every arm but routed):
 *
 * - outcomes: each delegation to this subagent in the student arm, the orchestrator's prompt as
 *   the task text, a success when the student's run completed with its output contract held and
 *   the task then passed its verifier (a task without one: the run alone). The verifier is the
 *   only judge of whether the answer served: a wrong answer given with confidence, which is
 *   what the router is for, fails there and nowhere else. The delegations of the same item share
 *   its verdict, including where the main agent failed on its own; neighbours average that out.
 * - main-agent tokens per task, student arm against teacher arm (and none), over the tasks both
 *   arms ran, samples averaged per task before tasks are: the curve's `main_agent_tokens`.
 */
async function readBenchmarks(ctx: RunContext): Promise<{ outcomes: Outcome[]; tokens: MainTokensSource | { missing: string } }> {
  const name = ctx.subagent.name;
  const upstreams = routerBenchmarks(ctx.project, ctx.subagent);
  const outcomes: Outcome[] = [];
  const perTask: { student: number[]; teacher: number[]; none: number[] }[] = [];
  const used: string[] = [];
  if (Object.keys(upstreams).length) {
    const artifacts = await import("../artifacts/index.js");
    const { measure } = await import("../bench/measure.js");
    for (const upstreamName of Object.keys(upstreams).sort()) {
      const dir = ctx.upstream[upstreamName]?.dir;
      if (!dir) throw new Error(`the router of ${name} runs after ${upstreams[upstreamName]}`);
      const bench = upstreamName.slice("bench/".length);
      const byTask = new Map<string, { student: number[]; teacher: number[]; none: number[] }>();
      for (const id of (await readdir(join(dir, "items")).catch(() => [] as string[])).sort()) {
        const t = await artifacts.readOrchestratorTrace(dir, `items/${id}/trace.json`);
        if (!t.ok) {
          ctx.log(`warning: ${upstreamName}: left out: ${artifacts.describeArtifactError(t.error)}`, "warn");
          continue;
        }
        const trace = t.value as OrchestratorTrace & { task: { id: string } };
        if (trace.arm === "student") {
          trace.delegations.forEach((d, i) => {
            if (d.subagent !== name) return;
            const served = d.trace.status === "completed" && (trace.verification?.passed ?? true);
            outcomes.push({ id: `${upstreamName}/${id}/${i}`, text: d.prompt, success: served, source: "bench" });
          });
        }
        if (trace.arm === "student" || trace.arm === "teacher" || trace.arm === "none") {
          // main_tokens as the benchmark's own figures count them (pricing plays no part in it).
          const tokens = measure(trace, { main: true, subagents: { kind: "local" } }).main_tokens;
          const row = byTask.get(trace.task.id) ?? { student: [], teacher: [], none: [] };
          row[trace.arm].push(tokens);
          byTask.set(trace.task.id, row);
        }
      }
      const paired = [...byTask.values()].filter((r) => r.student.length && r.teacher.length);
      if (paired.length) used.push(bench);
      perTask.push(...paired);
    }
  }
  return { outcomes, tokens: perTask.length ? mainTokens(used, perTask) : { missing: missingTokens(ctx, upstreams) } };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function mainTokens(benchmarks: string[], tasks: { student: number[]; teacher: number[]; none: number[] }[]): MainTokensSource {
  const none = tasks.filter((t) => t.none.length);
  return {
    benchmarks,
    tasks: tasks.length,
    student: mean(tasks.map((t) => mean(t.student))),
    teacher: mean(tasks.map((t) => mean(t.teacher))),
    none: none.length ? mean(none.map((t) => mean(t.none))) : null,
  };
}

/** Why no benchmark gives the main agent's tokens for this subagent. */
function missingTokens(ctx: RunContext, upstreams: Record<string, string>): string {
  const name = ctx.subagent.name;
  const offering = ctx.project.benchmarks.filter((b) => b.subagents.includes(name));
  if (!offering.length) return `no benchmark offers ${name}`;
  if (!ctx.subagent.route.learn_from_benchmarks) return `route.learn_from_benchmarks is off for ${name}: benchmark results are not read`;
  if (!Object.keys(upstreams).length) return `the benchmarks offering ${name} run only the routed arm`;
  return `no task of ${Object.keys(upstreams).join(", ")} has both a student-arm and a teacher-arm item`;
}
