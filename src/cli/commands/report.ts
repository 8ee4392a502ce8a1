import { describeFailure } from "../../engine/events.js";
import { availableParallelism } from "node:os";
import { copyFile, mkdir } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { openProject } from "../../project.js";
import { parseCommandArgs, positiveInt } from "../args.js";
import { printJson } from "../output.js";
import { namedSubagents } from "../subagent-names.js";
import { runBuild } from "./build.js";

export const reportHelp = `sabuild report [subagent...] [-o DIR] [-j N] [--json]
  Builds each subagent's report stage (and whatever it needs), then writes DIR/<subagent>/index.html
  (a static page: pipeline summary, loss curve, the eval table of student, base and teacher, charts,
  per-task traces side by side) and DIR/<subagent>/summary.md (for CI comments). DIR: reports.
  Missed eval targets still fail the command (exit 1) after the report is written.`;

export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("report", argv, { out: { type: "string", short: "o" }, jobs: { type: "string", short: "j" } });
  if (args.help) return (console.log(reportHelp), 0);
  const session = await openProject(args.global);
  const wanted = namedSubagents(session.project, args.positionals);
  const outDir = resolve(process.cwd(), (args.values.out as string | undefined) ?? join(session.project.root, "reports"));
  const summary = await runBuild(
    session,
    { targets: wanted.map((n) => `${n}:report`), jobs: positiveInt("jobs", args.values.jobs as string | undefined, availableParallelism()), locked: false, json: args.global.json, verbose: false },
    `report ${wanted.join(" ")}`,
  );
  const written: { subagent: string; html: string; markdown: string }[] = [];
  const missing: { subagent: string; reason: string }[] = [];
  for (const name of wanted) {
    const o = summary.outcomes.find((x) => x.id === `${name}:report`);
    if (!o?.output) {
      missing.push({ subagent: name, reason: o?.failure ? describeFailure(o.failure) : (o?.status === "unavailable" ? "a stage it needs is unavailable" : "its report stage did not finish") });
      continue;
    }
    const tree = await session.store.cas.materialize(o.output);
    const dir = join(outDir, name);
    await mkdir(dir, { recursive: true });
    await copyFile(join(tree, "report.html"), join(dir, "index.html"));
    await copyFile(join(tree, "summary.md"), join(dir, "summary.md"));
    written.push({ subagent: name, html: join(dir, "index.html"), markdown: join(dir, "summary.md") });
  }
  if (args.global.json) {
    printJson({ ok: summary.exitCode === 0 && missing.length === 0, reports: written, missing, gate: summary.outcomes.filter((x) => x.gateFailure).map((x) => ({ id: x.id, message: x.gateFailure })) });
  } else {
    for (const w of written) console.log(`${w.subagent}: ${relative(process.cwd(), w.html) || w.html} (and summary.md beside it)`);
    for (const m of missing) process.stderr.write(`error: no report for ${m.subagent}: ${m.reason}\n`);
  }
  return summary.exitCode !== 0 ? summary.exitCode : missing.length ? 1 : 0;
}
