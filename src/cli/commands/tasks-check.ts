import { availableParallelism } from "node:os";
import type { NodeOutcome } from "../../engine/build.js";
import { Semaphore } from "../../engine/semaphore.js";
import { didYouMean, UserInputError } from "../../errors.js";
import { openProject, type Session } from "../../project.js";
import type { TaskLine } from "../../artifacts/tasks.js";
import type { CheckJob, SubagentTasks } from "../../verify/check-list.js";
import { parseCommandArgs, positiveInt } from "../args.js";
import { printJson } from "../output.js";
import { namedSubagents } from "../subagent-names.js";
import { runBuild, type BuildOptions } from "./build.js";
import { checkRow, printReport, progressLine, skippedRow, type CheckRow } from "./tasks-check-output.js";

export const tasksHelp = `sabuild tasks check [subagent...] [--task ID ...] [-j N] [--json]
  Finds broken tasks before any money is spent on rollouts. Builds the subagents' tasks and
  sandbox stages (images are reused from the store), then checks each task that has a verifier,
  each half in a fresh container of the task's environment (removed after):
    nop       the verifier on the untouched environment must fail (else the task is solved already)
    solution  the task's reference solution, then the verifier, must pass (skipped without one)
  Tasks without a verifier are listed as not checkable.
  --task ID   check only this task (repeatable); default: every task of the subagents
  -j N        run at most N checks at once (default: CPU count)
  Exit 1 when a task is broken or a check could not run, 2 on bad input.`;

export async function tasksCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") return (console.log(tasksHelp), sub === undefined ? 2 : 0);
  if (sub !== "check") throw new UserInputError(`unknown tasks command "${sub}"${didYouMean(sub, ["check"]) ? ' (did you mean "check"?)' : ""}\n${tasksHelp}`);
  const args = parseCommandArgs("tasks check", rest, { task: { type: "string", multiple: true }, jobs: { type: "string", short: "j" } });
  if (args.help) return (console.log(tasksHelp), 0);
  const started = Date.now();
  const session = await openProject(args.global);
  const named = args.positionals.length > 0;
  const subagents = namedSubagents(session.project, args.positionals);
  const unavailable = sandboxUnavailable(session, subagents);
  if (named && unavailable.length) {
    throw new UserInputError(unavailable.map((u) => `cannot check the tasks of ${u.subagent}: its sandbox stage is unavailable (${u.reason})`).join("\n"));
  }
  const checked = subagents.filter((s) => !unavailable.some((u) => u.subagent === s));
  const jobs = positiveInt("jobs", args.values.jobs as string | undefined, availableParallelism());
  const build: BuildOptions = { targets: [], jobs, locked: false, json: args.global.json, verbose: false };
  const command = `tasks check ${checked.join(" ")}`.trim();

  // Tasks first: a mistyped --task is found before any image is built.
  const tasksBuild = await runBuild(session, { ...build, targets: checked.map((s) => `${s}:tasks`) }, command);
  if (tasksBuild.exitCode !== 0) return buildFailed(args.global.json, tasksBuild);
  const tasks = new Map<string, TaskLine[]>();
  for (const s of checked) tasks.set(s, await readTasks(session, outputOf(tasksBuild.outcomes, `${s}:tasks`)));
  const only = wantedTasks(args.values.task as string[] | undefined, [...tasks.values()].flat());

  const sandboxBuild = await runBuild(session, { ...build, targets: checked.map((s) => `${s}:sandbox`) }, command);
  if (sandboxBuild.exitCode !== 0) return buildFailed(args.global.json, sandboxBuild);
  const sources: SubagentTasks[] = [];
  for (const s of checked) sources.push({ subagent: s, tasks: tasks.get(s)!, envs: await readEnvs(session, outputOf(sandboxBuild.outcomes, `${s}:sandbox`)) });

  const { listChecks } = await import("../../verify/check-list.js");
  const list = listChecks(sources, only);
  const rows: CheckRow[] = [...(await runChecks(session, sources, list.jobs, jobs)), ...list.skipped.map(skippedRow)];
  const durationMs = Date.now() - started;
  const count = (status: CheckRow["status"]): number => rows.filter((r) => r.status === status).length;
  const failed = count("broken") + count("error") > 0;
  if (args.global.json) {
    printJson({
      ok: !failed,
      durationMs,
      counts: { ok: count("ok"), broken: count("broken"), error: count("error"), unchecked: count("unchecked") },
      tasks: rows,
      unavailable,
    });
  } else {
    printReport(rows, unavailable, durationMs);
  }
  return failed ? 1 : 0;
}

/** Each job, at most `jobs` at once, with a progress line on stderr as each one ends. */
async function runChecks(session: Session, sources: SubagentTasks[], work: CheckJob[], jobs: number): Promise<CheckRow[]> {
  const { checkTask } = await import("../../verify/check.js");
  const { environmentImages } = await import("../../envs/images.js");
  const { openSandbox, projectLabels } = await import("../../sandbox/index.js");
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const images = new Map(
    sources.map((s) => {
      const subagent = session.project.subagents.find((x) => x.name === s.subagent)!;
      return [s.subagent, environmentImages(s.envs, { project: session.project, subagent, log })];
    }),
  );
  const labels = projectLabels(session.project.root);
  const slots = new Semaphore(jobs);
  let done = 0;
  if (work.length) log(`checking ${work.length} task${work.length === 1 ? "" : "s"} (${jobs} at once)`);
  return Promise.all(
    work.map((job) =>
      slots.run(async () => {
        const image = images.get(job.subagent)!;
        const check = await checkTask(job, async () => openSandbox(await image(job.env), { labels }));
        const row = checkRow(job, check);
        log(`[${++done}/${work.length}] ${progressLine(row)}`);
        return row;
      }),
    ),
  );
}

function sandboxUnavailable(session: Session, subagents: string[]): { subagent: string; reason: string }[] {
  const out: { subagent: string; reason: string }[] = [];
  for (const s of subagents) {
    const node = session.nodes.find((n) => n.id === `${s}:sandbox`);
    if (!node || node.stage.unavailable) out.push({ subagent: s, reason: node?.stage.unavailable ?? "no sandbox stage" });
  }
  return out;
}

/** The --task ids, each known to some subagent's tasks; an unknown one is bad input. */
function wantedTasks(ids: string[] | undefined, tasks: TaskLine[]): Set<string> | undefined {
  if (!ids?.length) return undefined;
  const known = [...new Set(tasks.map((t) => t.id))];
  for (const id of ids) {
    if (known.includes(id)) continue;
    const guess = didYouMean(id, known);
    const listed = known.length > 20 ? `${known.slice(0, 20).join(", ")}, ... (${known.length} in all)` : known.join(", ") || "none";
    throw new UserInputError(`no task "${id}"${guess ? ` (did you mean "${guess}"?)` : ""}; tasks: ${listed}`);
  }
  return new Set(ids);
}

function outputOf(outcomes: NodeOutcome[], id: string): string {
  const output = outcomes.find((o) => o.id === id)?.output;
  // The build succeeded, so every target it was given has an output.
  if (!output) throw new Error(`${id} has no output after a successful build`);
  return output;
}

async function readTasks(session: Session, output: string): Promise<TaskLine[]> {
  const { artifactOr, readHeldOutTasks, readTrainTasks } = await import("../../artifacts/index.js");
  const dir = await session.store.cas.materialize(output);
  return [...artifactOr(await readTrainTasks(dir), "tasks", []), ...artifactOr(await readHeldOutTasks(dir), "tasks", [])];
}

async function readEnvs(session: Session, output: string): Promise<SubagentTasks["envs"]> {
  const { expectArtifact, readEnvironments } = await import("../../artifacts/index.js");
  return expectArtifact(await readEnvironments(await session.store.cas.materialize(output), output), "sandbox");
}

/** The build already said what failed (on stderr, or as stages in the JSON document). */
function buildFailed(json: boolean, summary: Awaited<ReturnType<typeof runBuild>>): number {
  if (json) printJson({ ok: false, error: "the build of the tasks or sandbox stages failed", stages: summary.stages ?? [] });
  return summary.exitCode;
}
