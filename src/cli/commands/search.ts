import { readFile, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { ProjectConfig } from "../../config/index.js";
import { didYouMean, UserInputError } from "../../errors.js";
import type { TaskQuery } from "../../libraries/for-tasks.js";
import type { SearchHit } from "../../libraries/ranker.js";
import type { EntryKind } from "../../libraries/types.js";
import { openProject } from "../../project.js";
import { SEARCH_NODE } from "../../stages/library.js";
import { parseCommandArgs, positiveInt } from "../args.js";
import { buildLibraryNodes } from "../library-nodes.js";
import { printJson } from "../output.js";

export const searchHelp = `sabuild search "<query>" [--kind agent|skill] [--library NAME] [-n 10] [--json]
sabuild search --for-tasks <tasks file | benchmark> [--kind ...] [--library ...] [-n 10] [--json]
  Ranks the agents and skills of the project's libraries (libraries: in subagents.yaml) by
  relevance to a query: fielded BM25 over name, description, keywords, category, tools and body,
  with stemming. Each hit: id (<library>/<name>, what \`sabuild add\` takes), kind, one-line
  description and the terms that matched. --for-tasks: every task of a task file (JSONL, SWE-bench,
  Harbor, Terminal-Bench) or of a benchmark is a query; hits are ranked by their summed relevance
  over the tasks, each with the tasks it matched.`;

export async function searchCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("search", argv, { kind: { type: "string" }, library: { type: "string" }, n: { type: "string", short: "n" }, "for-tasks": { type: "string" } });
  if (args.help) return (console.log(searchHelp), 0);
  const forTasks = args.values["for-tasks"] as string | undefined;
  const query = args.positionals.join(" ").trim();
  if (!forTasks && !query) throw new UserInputError('sabuild search needs a query (sabuild search "web design") or --for-tasks <file | benchmark>');
  if (forTasks && query) throw new UserInputError("sabuild search takes a query or --for-tasks, not both");
  const kind = args.values.kind as string | undefined;
  if (kind !== undefined && kind !== "agent" && kind !== "skill") throw new UserInputError(`--kind ${kind}: agent or skill`);
  const limit = positiveInt("n", args.values.n as string | undefined, 10);
  const session = await openProject(args.global);
  const project = session.project;
  if (!project.libraries.length) throw new UserInputError("no libraries to search: add one with `sabuild library add <path | git URL>` (see docs/libraries.md)");
  const library = args.values.library as string | undefined;
  if (library !== undefined && !project.libraries.some((l) => l.name === library)) {
    const names = project.libraries.map((l) => l.name);
    const guess = didYouMean(library, names);
    throw new UserInputError(`--library ${library}: no such library${guess ? ` (did you mean "${guess}"?)` : ""}; libraries: ${names.join(", ")}`);
  }
  const tasks = forTasks ? await tasksOf(project, forTasks) : [];
  const node = SEARCH_NODE;
  const built = await buildLibraryNodes(session, [node], "search");
  const { bm25Ranker } = await import("../../libraries/bm25.js");
  const { RANKER_FILE } = await import("../../libraries/index-run.js");
  const ranker = bm25Ranker.load(await readFile(join(built.get(node)!.dir, RANKER_FILE), "utf8"));
  const options = { limit, ...(kind ? { kind: kind as EntryKind } : {}), ...(library ? { library } : {}) };
  if (forTasks) {
    const { rankForTasks } = await import("../../libraries/for-tasks.js");
    const hits = rankForTasks(ranker, tasks, options);
    if (args.global.json) printJson({ forTasks, tasks: tasks.length, hits });
    else printHits(hits, (h) => `for ${h.tasks.length} of ${tasks.length} tasks: ${h.tasks.slice(0, 6).join(", ")}${h.tasks.length > 6 ? ", ..." : ""}`);
    return 0;
  }
  const hits = ranker.search(query, options);
  if (args.global.json) printJson({ query, hits });
  else if (!hits.length) console.log(`nothing matched "${query}"`);
  else printHits(hits);
  return 0;
}

function printHits(hits: SearchHit[], extra?: (h: SearchHit & { tasks: string[] }) => string): void {
  hits.forEach((h, i) => {
    const line = h.description.replace(/\s+/g, " ").trim();
    console.log(`${String(i + 1).padStart(2)}. ${h.id}  ${h.kind}  ${h.score}`);
    if (line) console.log(`    ${line.length > 110 ? `${line.slice(0, 107)}...` : line}`);
    console.log(`    matched: ${h.matched.map((m) => `${m.term} (${m.fields.join(", ")})`).join("; ")}`);
    if (extra) console.log(`    ${extra(h as SearchHit & { tasks: string[] })}`);
  });
}

/** The tasks of a benchmark named in the config, or of a task file. */
async function tasksOf(project: ProjectConfig, what: string): Promise<TaskQuery[]> {
  const bench = project.benchmarks.find((b) => b.name === what);
  const abs = resolve(process.cwd(), what);
  const isFile = await stat(abs).then(() => true, () => false);
  if (!bench && !isFile) {
    const guess = didYouMean(what, project.benchmarks.map((b) => b.name));
    throw new UserInputError(`--for-tasks ${what}: neither a task file nor a benchmark${guess ? ` (did you mean "${guess}"?)` : ""}`);
  }
  const sources = bench ? bench.tasks.from.map((rel) => ({ rel, format: bench.tasks.format })) : [{ rel: relative(project.root, abs), format: "auto" as const }];
  const { readTaskFile } = await import("../../stages/task-files.js");
  const tasks: TaskQuery[] = [];
  for (const s of sources) {
    const read = await readTaskFile(project.root, s.rel, s.format);
    if (read.problems.length) throw new UserInputError(`invalid tasks in ${s.rel}`, read.problems);
    tasks.push(...read.tasks.map((t) => ({ id: t.id ?? t.origin, prompt: t.prompt })));
  }
  if (!tasks.length) throw new UserInputError(`--for-tasks ${what}: no tasks found`);
  return tasks;
}
