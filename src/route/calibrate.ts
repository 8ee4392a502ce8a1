import type { CostQualityCurve, CurvePoint } from "./curve.js";

/** What `route calibrate` aims for: a cap on the teacher's share, or a floor on success. */
export type CalibrationGoal = { maxEscalation: number } | { minSuccess: number };

/**
 * The curve's point that meets the goal best: under a cap on escalation, the most successful
 * point within it (the cheaper one on a tie); under a success floor, the cheapest point that
 * reaches it (the more successful one on a tie). A string says why none does.
 */
export function calibrate(curve: CostQualityCurve, goal: CalibrationGoal): CurvePoint | string {
  if (curve.tasks === 0) return "the router's curve has no tasks (eval ran no task with both the student and the teacher)";
  if ("maxEscalation" in goal) {
    const within = curve.points.filter((p) => p.escalated <= goal.maxEscalation);
    if (!within.length) return `no threshold keeps escalation at or under ${goal.maxEscalation}`;
    return within.reduce((best, p) => (p.success > best.success || (p.success === best.success && p.escalated < best.escalated) ? p : best));
  }
  const reaching = curve.points.filter((p) => p.success >= goal.minSuccess);
  if (!reaching.length) {
    const best = curve.points.reduce((a, p) => (p.success > a.success ? p : a));
    return `no threshold reaches success ${goal.minSuccess} on eval's tasks (the best is ${best.success.toFixed(3)} at threshold ${best.threshold}, escalating ${(best.escalated * 100).toFixed(0)}%)`;
  }
  return reaching.reduce((best, p) => (p.escalated < best.escalated || (p.escalated === best.escalated && p.success > best.success) ? p : best));
}
