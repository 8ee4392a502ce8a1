import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { costQualityCurve, type CurveTask } from "../route/curve.js";
import { openRouter, routerFile, ROUTER_FILE, type Outcome } from "../route/router.js";
import type { ReadEvalResult } from "../artifacts/index.js";
import type { RunContext } from "./types.js";

export const CURVE_FILE = "curve.json";

/**
 * Trains the router on eval.json's tasks (the student's success on each held-out task) and
 * writes its curve over the tasks the teacher was also run on. Without student outcomes the
 * router scores the base rate (0.5) for every task, and says so.
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
  if (!outcomes.length) ctx.log("warning: eval recorded no student outcomes: the router predicts the base rate for every task", "warn");
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
  const curve = costQualityCurve(curveTasks, cost);
  await writeFile(join(ctx.outDir, CURVE_FILE), `${JSON.stringify(curve, null, 2)}\n`);
  ctx.log(`router: ${outcomes.length} outcomes (student success ${(file.base_rate * 100).toFixed(0)}%); curve over ${curve.tasks} tasks, APGR ${curve.apgr === null ? "n/a" : curve.apgr.toFixed(3)}`);
}
