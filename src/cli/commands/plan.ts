import { describeReason, type PlannedStage } from "../../events.js";
import { selectNodes } from "../../graph.js";
import { planNodes } from "../../plan.js";
import { openProject } from "../../project.js";
import { parseCommandArgs } from "../args.js";
import { printJson, reasonsJson } from "../output.js";

export const planHelp = `sabuild plan [targets] [--json]
  Shows, per stage, whether it is up-to-date, cached (restorable from the store), will-run or
  unavailable, with the reasons: which param, file or upstream output changed.`;

const MARK: Record<PlannedStage["status"], string> = {
  "up-to-date": "✓",
  cached: "↺",
  "will-run": "▶",
  unavailable: "·",
  error: "✗",
};

export async function planCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("plan", argv, {});
  if (args.help) return (console.log(planHelp), 0);
  const session = await openProject(args.global);
  const { selected } = selectNodes(session.nodes, args.positionals);
  const { planned } = await planNodes(session.env, selected);
  if (args.global.json) {
    printJson({ stages: planned.map((s) => ({ id: s.id, status: s.status, reasons: reasonsJson(s.reasons), ...(s.key ? { key: s.key } : {}) })) });
  } else {
    const width = Math.max(...planned.map((s) => s.id.length));
    for (const s of planned) {
      const why = s.reasons.map(describeReason);
      console.log(`${MARK[s.status]} ${s.id.padEnd(width)}  ${s.status}${why.length ? `: ${why[0]}` : ""}`);
      for (const more of why.slice(1)) console.log(`  ${" ".repeat(width)}  ${" ".repeat(s.status.length)}  ${more}`);
    }
    const count = (st: PlannedStage["status"]): number => planned.filter((s) => s.status === st).length;
    console.log(`\n${count("up-to-date")} up-to-date, ${count("cached")} cached, ${count("will-run")} will run, ${count("unavailable")} unavailable${count("error") ? `, ${count("error")} with errors` : ""}`);
  }
  return planned.some((s) => s.status === "error") ? 2 : 0;
}
