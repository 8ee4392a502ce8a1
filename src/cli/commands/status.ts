import type { PlannedStage } from "../../engine/events.js";
import { planNodes } from "../../engine/plan.js";
import { openProject } from "../../project.js";
import { parseCommandArgs } from "../args.js";
import { printJson } from "../output.js";

export const statusHelp = `sabuild status [--json]
  One line per subagent (then per project-level scope): each stage's state (✓ up-to-date, ↺ cached, ▶ will run, · unavailable, ✗ error).`;

const MARK: Record<PlannedStage["status"], string> = { "up-to-date": "✓", cached: "↺", "will-fetch": "↓", "will-run": "▶", unavailable: "·", error: "✗" };

export async function statusCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("status", argv, {});
  if (args.help) return (console.log(statusHelp), 0);
  const session = await openProject(args.global);
  const { planned } = await planNodes(session.env, session.nodes);
  // What plan hashed stays known: the next command does not read those files again.
  await session.store.stat.save();
  const row = (name: string) => ({ name, stages: Object.fromEntries(planned.filter((p) => p.scope === name).map((p) => [p.kind, p.status])) as Record<string, PlannedStage["status"]> });
  const subagents = session.project.subagents.map((s) => row(s.name));
  // Project-level nodes (benchmarks, indexes) get a line of their own scope after the subagents.
  const names = new Set(session.project.subagents.map((s) => s.name));
  const projectScopes = [...new Set(planned.map((p) => p.scope))].filter((scope) => !names.has(scope)).map(row);
  const stale = planned.filter((p) => p.status === "will-run" || p.status === "will-fetch" || p.status === "cached" || p.status === "error").length;
  if (args.global.json) {
    printJson({ project: session.project.root, store: session.store.root, upToDate: stale === 0, subagents, projectScopes });
    return 0;
  }
  const width = Math.max(...[...subagents, ...projectScopes].map((s) => s.name.length));
  for (const s of [...subagents, ...projectScopes]) {
    console.log(`${s.name.padEnd(width)}  ${Object.entries(s.stages).map(([k, st]) => `${MARK[st]} ${k}`).join("  ")}`);
  }
  console.log(stale === 0 ? "\neverything available is up to date" : `\n${stale} stage(s) need a build: run \`sabuild plan\` for reasons`);
  return 0;
}
