import { relative } from "node:path";
import { UserInputError } from "../../errors.js";
import { openProject, type Session } from "../../project.js";
import type { CostQualityCurve } from "../../route/curve.js";
import { parseCommandArgs } from "../args.js";
import { printJson } from "../output.js";
import { namedSubagents } from "../subagent-names.js";

export const routeHelp = `sabuild route curve <subagent> [--json]
sabuild route calibrate <subagent> (--max-escalation F | --min-success F) [--json]
  curve: the learned router's cost-quality curve from eval (thresholds 0..1: share sent to the
  teacher, success, cost per task, and the main agent's tokens per task from the benchmarks
  offering the subagent), with RouteLLM's APGR and CPT(50%), CPT(80%).
  calibrate: picks the threshold that keeps escalation at or under F (the most successful such
  point), or reaches success F (the cheapest such point), and writes it to
  subagents.<name>.route.threshold in subagents.yaml, keeping its comments.
  Both read <subagent>:router: run \`sabuild build <subagent>:router\` first.`;

async function curveOf(session: Session, name: string): Promise<CostQualityCurve> {
  const { nodeOutput } = await import("../../serve/node-output.js");
  const out = await nodeOutput(session, `${name}:router`);
  if (typeof out === "string") throw new UserInputError(out);
  const { readCurve, describeArtifactError } = await import("../../artifacts/index.js");
  const curve = await readCurve(out.dir);
  if (!curve.ok) throw new UserInputError(`${name}:router: ${describeArtifactError(curve.error)}; rebuild it with \`sabuild build ${name}:router\``);
  return curve.value;
}

function fraction(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UserInputError(`--${flag}: a fraction between 0 and 1, got "${text}"`);
  return n;
}

const pct = (x: number | null): string => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`);

export async function routeCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("route", argv, { "max-escalation": { type: "string" }, "min-success": { type: "string" } });
  if (args.help) return (console.log(routeHelp), 0);
  const [action, name, ...extra] = args.positionals;
  if ((action !== "curve" && action !== "calibrate") || !name || extra.length) throw new UserInputError(`usage:\n${routeHelp}`);
  const session = await openProject(args.global);
  namedSubagents(session.project, [name]);
  const curve = await curveOf(session, name);

  if (action === "curve") {
    if (args.global.json) return (printJson({ subagent: name, ...curve }), 0);
    console.log(`${name}: ${curve.tasks} eval tasks; student success ${pct(curve.student.success)}, teacher ${pct(curve.teacher.success)}`);
    console.log(`APGR ${curve.apgr === null ? "n/a" : curve.apgr.toFixed(3)}  CPT(50%) ${curve.cpt50 === null ? "n/a" : `${curve.cpt50.toFixed(1)}%`}  CPT(80%) ${curve.cpt80 === null ? "n/a" : `${curve.cpt80.toFixed(1)}%`}`);
    const { mainTokensNote } = await import("../../report/routing.js");
    console.log(mainTokensNote(curve));
    console.log("threshold  to teacher  success  cost/task  main tokens");
    for (const p of curve.points) console.log(`${p.threshold.toFixed(2).padStart(9)}  ${pct(p.escalated).padStart(10)}  ${pct(p.success).padStart(7)}  $${p.cost_per_task_usd.toFixed(5)}  ${(p.main_agent_tokens === null ? "n/a" : String(Math.round(p.main_agent_tokens))).padStart(11)}`);
    return 0;
  }

  const max = args.values["max-escalation"] as string | undefined;
  const min = args.values["min-success"] as string | undefined;
  if ((max === undefined) === (min === undefined)) throw new UserInputError("route calibrate takes one of --max-escalation F or --min-success F");
  const { calibrate } = await import("../../route/calibrate.js");
  const point = calibrate(curve, max !== undefined ? { maxEscalation: fraction("max-escalation", max) } : { minSuccess: fraction("min-success", min!) });
  if (typeof point === "string") throw new UserInputError(`${name}: ${point}`);
  const { writeThreshold } = await import("../../route/write-threshold.js");
  await writeThreshold(session.project.file, name, point.threshold);
  const policy = session.project.subagents.find((s) => s.name === name)!.route.policy;
  const file = relative(process.cwd(), session.project.file) || session.project.file;
  if (args.global.json) {
    printJson({ subagent: name, file, threshold: point.threshold, escalated: point.escalated, success: point.success, cost_per_task_usd: point.cost_per_task_usd, policy });
    return 0;
  }
  console.log(`${name}: route.threshold ${point.threshold} written to ${file}: ${pct(point.escalated)} to the teacher, success ${pct(point.success)}, $${point.cost_per_task_usd.toFixed(5)} per task on eval's tasks`);
  if (policy !== "learned") console.log(`note: ${name}'s route.policy is ${policy}; the threshold applies with policy learned`);
  return 0;
}
