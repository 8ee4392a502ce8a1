/**
 * The cost-quality curve of a learned router and RouteLLM's summary figures of it (Ong et al.,
 * "RouteLLM: Learning to Route LLMs with Preference Data", routellm/evals/evaluate.py): the
 * student is the weak model, the teacher the strong one, success the performance.
 */

/** One task's outcome under each model, and the router's score of it (leave-one-out). */
export interface CurveTask {
  score: number;
  student: boolean;
  teacher: boolean;
}

export interface CurvePoint {
  threshold: number;
  /** Share of tasks sent to the teacher (score < threshold). */
  escalated: number;
  success: number;
  /** Mean cost per task: the teacher's per-task cost for escalated tasks, the student's for the rest. */
  cost_per_task_usd: number;
  /**
   * The main agent's tokens per task at this share to the teacher: the benchmarks' student-arm
   * and teacher-arm figures mixed in that share (`main_agent_tokens_source`); null without one.
   */
  main_agent_tokens: number | null;
}

/**
 * Where the points' main-agent tokens come from: the benchmarks offering the subagent, their
 * tasks with both a student-arm and a teacher-arm item, and the orchestrator's mean tokens per
 * task in each arm (samples averaged per task first); `none` over those of them run without
 * subagents too, for comparison (null when none were).
 */
export interface MainTokensSource {
  benchmarks: string[];
  tasks: number;
  student: number;
  teacher: number;
  none: number | null;
}

export interface CostQualityCurve {
  tasks: number;
  student: { success: number; cost_per_task_usd: number };
  teacher: { success: number; cost_per_task_usd: number };
  points: CurvePoint[];
  /** What main_agent_tokens is computed from; null when no benchmark covers the subagent. */
  main_agent_tokens_source: MainTokensSource | null;
  /** Why main_agent_tokens is null (set exactly when the source is). */
  main_agent_tokens_missing?: string;
  /** Average performance gap recovered: (AUC - weak AUC) / (strong AUC - weak AUC); null when the models tie. */
  apgr: number | null;
  /** Percentage of teacher calls needed to recover 50% / 80% of the performance gap (np.interp, as RouteLLM). */
  cpt50: number | null;
  cpt80: number | null;
}

/** numpy.interp for increasing xp: linear between points, clamped to the end values outside them. */
export function interp(x: number, xp: readonly number[], fp: readonly number[]): number {
  const n = xp.length;
  if (x <= xp[0]!) return fp[0]!;
  if (x >= xp[n - 1]!) return fp[n - 1]!;
  let j = 0;
  while (j < n - 2 && x >= xp[j + 1]!) j++;
  const slope = (fp[j + 1]! - fp[j]!) / (xp[j + 1]! - xp[j]!);
  return fp[j]! + slope * (x - xp[j]!);
}

/** numpy.trapz(y, x). */
export function trapz(y: readonly number[], x: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < y.length; i++) area += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return area;
}

/** RouteLLM's APGR and CPT over points sorted by strong-model share, as its evaluate.py computes them. */
export function routeLlmFigures(points: readonly { strongPct: number; accuracy: number }[], weak: number, strong: number): { apgr: number | null; cpt50: number | null; cpt80: number | null } {
  if (points.length === 0 || strong === weak) return { apgr: null, cpt50: null, cpt80: null };
  const sorted = [...points].sort((a, b) => a.strongPct - b.strongPct);
  const x = sorted.map((p) => p.strongPct / 100);
  const acc = sorted.map((p) => p.accuracy);
  const auc = trapz(acc, x);
  const weakAuc = trapz(acc.map(() => weak), x);
  const strongAuc = trapz(acc.map(() => strong), x);
  const cpt = (pct: number): number => interp(pct * (strong - weak) + weak, acc, sorted.map((p) => p.strongPct));
  return { apgr: strongAuc === weakAuc ? null : (auc - weakAuc) / (strongAuc - weakAuc), cpt50: cpt(0.5), cpt80: cpt(0.8) };
}

/** Thresholds 0, 0.05, ..., 1: the curve from all-student (0) to nearly all-teacher (1). */
export const THRESHOLDS = Array.from({ length: 21 }, (_, i) => Math.round(i * 5) / 100);

export function costQualityCurve(tasks: readonly CurveTask[], cost: { student: number; teacher: number }, tokens: MainTokensSource | { missing: string } = { missing: "not computed" }): CostQualityCurve {
  const source = "missing" in tokens ? null : tokens;
  const n = tasks.length;
  const mean = (f: (t: CurveTask) => boolean): number => (n ? tasks.filter(f).length / n : 0);
  const points = THRESHOLDS.map((threshold): CurvePoint => {
    const escalated = mean((t) => t.score < threshold);
    return {
      threshold,
      escalated,
      success: mean((t) => (t.score < threshold ? t.teacher : t.student)),
      cost_per_task_usd: (1 - escalated) * cost.student + escalated * cost.teacher,
      main_agent_tokens: source ? (1 - escalated) * source.student + escalated * source.teacher : null,
    };
  });
  const student = mean((t) => t.student);
  const teacher = mean((t) => t.teacher);
  return {
    tasks: n,
    student: { success: student, cost_per_task_usd: cost.student },
    teacher: { success: teacher, cost_per_task_usd: cost.teacher },
    points,
    main_agent_tokens_source: source,
    ...("missing" in tokens ? { main_agent_tokens_missing: tokens.missing } : {}),
    ...routeLlmFigures(points.map((p) => ({ strongPct: p.escalated * 100, accuracy: p.success })), student, teacher),
  };
}
