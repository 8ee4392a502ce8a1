import { describeFailure } from "../../engine/events.js";
import { availableParallelism } from "node:os";
import { copyFile, mkdir } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { ProjectConfig } from "../../config/index.js";
import { openProject } from "../../project.js";
import { parseCommandArgs, positiveInt } from "../args.js";
import { printJson } from "../output.js";
import { namedBenchmarks, namedSubagents } from "../subagent-names.js";
import { runBuild } from "./build.js";

export const reportHelp = `sabuild report [subagent... | bench/<name>...] [-o DIR] [-j N] [--json]
  Builds each subagent's report stage (and whatever it needs), then writes DIR/<subagent>/index.html
  (a static page: pipeline summary, loss curve, the eval table of student, base and teacher, charts,
  per-task traces side by side) and DIR/<subagent>/summary.md (for CI comments). DIR: reports.
  Each benchmark's page goes to DIR/bench-<name>/ (arms, comparisons with intervals, charts, each
  task's orchestrator traces with their delegations). With no names: every subagent and benchmark.
  Missed eval targets still fail the command (exit 1) after the report is written.`;

const BENCH_PREFIX = "bench/";

/** One page to write: which node builds it and where its files go under DIR. */
interface Wanted {
  kind: "subagent" | "benchmark";
  name: string;
  node: string;
  dir: string;
}

/** The pages named (`bench/<name>` names a benchmark), or every subagent's and benchmark's when none is. */
function wantedReports(project: ProjectConfig, names: string[]): Wanted[] {
  const benches = names.filter((n) => n.startsWith(BENCH_PREFIX)).map((n) => n.slice(BENCH_PREFIX.length));
  const subagents = names.filter((n) => !n.startsWith(BENCH_PREFIX));
  const all = names.length === 0;
  return [
    ...(all || subagents.length ? namedSubagents(project, subagents) : []).map((name): Wanted => ({ kind: "subagent", name, node: `${name}:report`, dir: name })),
    ...(all || benches.length ? namedBenchmarks(project, benches) : []).map((name): Wanted => ({ kind: "benchmark", name, node: `bench/${name}:report`, dir: `bench-${name}` })),
  ];
}

export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("report", argv, { out: { type: "string", short: "o" }, jobs: { type: "string", short: "j" } });
  if (args.help) return (console.log(reportHelp), 0);
  const session = await openProject(args.global);
  const wanted = wantedReports(session.project, args.positionals);
  const outDir = resolve(process.cwd(), (args.values.out as string | undefined) ?? join(session.project.root, "reports"));
  const summary = await runBuild(
    session,
    { targets: wanted.map((w) => w.node), jobs: positiveInt("jobs", args.values.jobs as string | undefined, availableParallelism()), locked: false, json: args.global.json, verbose: false },
    `report ${wanted.map((w) => (w.kind === "benchmark" ? `${BENCH_PREFIX}${w.name}` : w.name)).join(" ")}`,
  );
  const written: (Wanted & { html: string; markdown: string })[] = [];
  const missing: (Wanted & { reason: string })[] = [];
  for (const w of wanted) {
    const o = summary.outcomes.find((x) => x.id === w.node);
    if (!o?.output) {
      missing.push({ ...w, reason: o?.failure ? describeFailure(o.failure) : (o?.status === "unavailable" ? "a stage it needs is unavailable" : "its report stage did not finish") });
      continue;
    }
    const tree = await session.store.cas.materialize(o.output);
    const dir = join(outDir, w.dir);
    await mkdir(dir, { recursive: true });
    await copyFile(join(tree, "report.html"), join(dir, "index.html"));
    await copyFile(join(tree, "summary.md"), join(dir, "summary.md"));
    written.push({ ...w, html: join(dir, "index.html"), markdown: join(dir, "summary.md") });
  }
  const label = (w: Wanted): string => (w.kind === "benchmark" ? `${BENCH_PREFIX}${w.name}` : w.name);
  if (args.global.json) {
    const of = (kind: Wanted["kind"]) => written.filter((w) => w.kind === kind).map((w) => ({ [kind]: w.name, html: w.html, markdown: w.markdown }));
    printJson({
      ok: summary.exitCode === 0 && missing.length === 0,
      reports: of("subagent"),
      benchmarks: of("benchmark"),
      missing: missing.map((m) => ({ [m.kind]: m.name, reason: m.reason })),
      gate: summary.outcomes.filter((x) => x.gateFailure).map((x) => ({ id: x.id, message: x.gateFailure })),
    });
  } else {
    for (const w of written) console.log(`${label(w)}: ${relative(process.cwd(), w.html) || w.html} (and summary.md beside it)`);
    for (const m of missing) process.stderr.write(`error: no report for ${label(m)}: ${m.reason}\n`);
  }
  return summary.exitCode !== 0 ? summary.exitCode : missing.length ? 1 : 0;
}
