import { describeReason, type PlannedStage, type SpendEstimate } from "../../engine/events.js";
import { selectNodes } from "../../engine/graph.js";
import { planNodes } from "../../engine/plan.js";
import { executorNameOf } from "../../executors/index.js";
import { openProject } from "../../project.js";
import { parseCommandArgs } from "../args.js";
import { formatBytes, printJson, printProblems, reasonsJson } from "../output.js";

export const planHelp = `sabuild plan [targets] [--executor local] [--json]
  Shows, per stage, whether it is up-to-date, cached (restorable from the store), will-run or
  unavailable, with the reasons: which param, file or upstream output changed, and where a
  stage that will run runs (an executor of subagents.yaml, or this machine).`;

const MARK: Record<PlannedStage["status"], string> = {
  "up-to-date": "✓",
  cached: "↺",
  "will-fetch": "↓",
  "will-run": "▶",
  unavailable: "·",
  error: "✗",
};

export async function planCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("plan", argv, { executor: { type: "string" } });
  if (args.help) return (console.log(planHelp), 0);
  const session = await openProject(args.global);
  const { selected } = selectNodes(session.nodes, args.positionals);
  const { planned, evals } = await planNodes(session.env, selected);
  const override = typeof args.values.executor === "string" ? args.values.executor : undefined;
  const byId = new Map(selected.map((n) => [n.id, n]));
  const where = (id: string): string => override ?? executorNameOf(byId.get(id)!);
  // What plan hashed stays known: the next command does not read those files again.
  await session.store.stat.save();
  const config = { file: session.project.file, root: session.project.root };
  for (const e of evals.values()) if (e.status === "error") await printProblems(e.problems, config);
  if (args.global.json) {
    printJson({
      stages: planned.map((s) => ({ id: s.id, scope: s.scope, kind: s.kind, status: s.status, executor: where(s.id), reasons: reasonsJson(s.reasons), ...(s.key ? { key: s.key } : {}), ...(s.items ? { items: s.items } : {}), ...(s.fetch ? { fetch: s.fetch } : {}), ...(s.estimate ? { estimate: s.estimate } : {}) })),
      estimate: totalEstimate(planned),
    });
  } else {
    const shown = planned.filter((s) => s.status !== "unavailable");
    const width = Math.max(0, ...shown.map((s) => s.id.length));
    for (const s of shown) {
      const why = s.reasons.map(describeReason);
      const cost = s.estimate ? `, ~${s.estimate.priced ? `$${s.estimate.usd.toFixed(2)}` : `${s.estimate.calls} calls, no price known`}` : "";
      const items = s.items
        ? s.kind === "sandbox"
          ? // A sandbox item is one environment's image: say how many are built already.
            ` [${s.items.total - s.items.cached} of ${s.items.total} environments to build, ${s.items.cached} built]`
          : ` [${s.items.total - s.items.cached} of ${s.items.total} items to run${cost}]`
        : s.fetch
          ? ` [${s.fetch.files} files, ${formatBytes(s.fetch.bytes)}]`
          : cost
            ? ` [${cost.slice(2)}]`
            : "";
      const on = s.status === "will-run" && where(s.id) !== "local" ? ` on ${where(s.id)}` : "";
      console.log(`${MARK[s.status]} ${s.id.padEnd(width)}  ${s.status}${on}${items}${why.length ? `: ${why[0]}` : ""}`);
      for (const more of why.slice(1)) console.log(`  ${" ".repeat(width)}  ${" ".repeat(s.status.length)}  ${more}`);
    }
    // Unavailable stages are the same for every subagent: one line per kind, not one per stage.
    const unavailable = new Map<string, { reason: string; count: number }>();
    for (const s of planned.filter((p) => p.status === "unavailable" && p.reasons[0]?.type === "unavailable")) {
      const u = unavailable.get(s.kind) ?? { reason: describeReason(s.reasons[0]!), count: 0 };
      u.count++;
      unavailable.set(s.kind, u);
    }
    for (const [, u] of unavailable) console.log(`${MARK.unavailable} ${u.reason} [${u.count} stage${u.count === 1 ? "" : "s"}]`);
    const total = totalEstimate(planned);
    if (total.calls > 0) {
      console.log(`\nexpected model spend: ~$${total.usd.toFixed(2)} over ~${total.calls} calls (${total.prompt_tokens + total.completion_tokens} tokens; a rough estimate: see docs/teacher.md)`);
    }
    const count = (st: PlannedStage["status"]): number => planned.filter((s) => s.status === st).length;
    console.log(`\n${count("up-to-date")} up-to-date, ${count("cached")} cached, ${count("will-fetch")} to fetch, ${count("will-run")} will run, ${count("unavailable")} unavailable${count("error") ? `, ${count("error")} with errors` : ""}`);
  }
  return planned.some((s) => s.status === "error") ? 2 : 0;
}

function totalEstimate(planned: PlannedStage[]): SpendEstimate {
  const t: SpendEstimate = { calls: 0, prompt_tokens: 0, completion_tokens: 0, usd: 0, priced: true };
  for (const s of planned) {
    if (!s.estimate) continue;
    t.calls += s.estimate.calls;
    t.prompt_tokens += s.estimate.prompt_tokens;
    t.completion_tokens += s.estimate.completion_tokens;
    t.usd += s.estimate.usd;
    t.priced &&= s.estimate.priced;
  }
  t.usd = Math.round(t.usd * 1e4) / 1e4;
  return t;
}
