import { availableParallelism } from "node:os";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describeFailure } from "../../engine/events.js";
import { UserInputError } from "../../errors.js";
import { openProject } from "../../project.js";
import { parseCommandArgs, positiveInt } from "../args.js";
import { printJson } from "../output.js";
import { namedBenchmarks } from "../subagent-names.js";
import { runBuild } from "./build.js";

export const benchHelp = `sabuild bench [name...] [-j N] [--json]
  Builds each named benchmark (all of them when none is named) and what it needs, as
  \`sabuild build bench/<name>:bench\` would, then prints each arm's resolve rate, main-agent
  tokens, terminal calls, delegations and cost per item, and each arm against none and teacher
  with 95% intervals over tasks. --json: each benchmark's bench.json.`;

export async function benchCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("bench", argv, { jobs: { type: "string", short: "j" } });
  if (args.help) return (console.log(benchHelp), 0);
  const session = await openProject(args.global);
  if (!session.project.benchmarks.length) throw new UserInputError("no benchmarks in this project: declare one under benchmarks: in subagents.yaml (see docs/benchmarks.md)");
  const wanted = namedBenchmarks(session.project, args.positionals);
  const summary = await runBuild(
    session,
    { targets: wanted.map((n) => `bench/${n}:bench`), jobs: positiveInt("jobs", args.values.jobs as string | undefined, availableParallelism()), locked: false, json: args.global.json, verbose: false },
    `bench ${wanted.join(" ")}`,
  );
  const results: unknown[] = [];
  const missing: { benchmark: string; reason: string }[] = [];
  for (const name of wanted) {
    const o = summary.outcomes.find((x) => x.id === `bench/${name}:bench`);
    if (!o?.output) {
      missing.push({ benchmark: name, reason: o?.failure ? describeFailure(o.failure) : o?.status === "unavailable" ? "a stage it needs is unavailable" : "it did not finish" });
      continue;
    }
    const tree = await session.store.cas.materialize(o.output);
    results.push(JSON.parse(await readFile(join(tree, "bench.json"), "utf8")));
  }
  if (args.global.json) {
    printJson({ ok: summary.exitCode === 0 && !missing.length, benchmarks: results, missing });
  } else {
    const { renderBench } = await import("../../bench/render.js");
    for (const r of results) console.log(renderBench(r as Parameters<typeof renderBench>[0]).join("\n"));
    for (const m of missing) process.stderr.write(`error: no result for bench/${m.benchmark}: ${m.reason}\n`);
  }
  return summary.exitCode !== 0 ? summary.exitCode : missing.length ? 1 : 0;
}
