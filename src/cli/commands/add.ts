import { mkdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { didYouMean, UserInputError } from "../../errors.js";
import { sanitizeName } from "../../importers/init-config.js";
import { addSubagent, editConfig } from "../../libraries/config-edit.js";
import { readLibraryIndex } from "../../libraries/index-run.js";
import type { LibraryEntry } from "../../libraries/types.js";
import { openProject } from "../../project.js";
import { libraryNode } from "../../stages/library.js";
import { SUBAGENT_NAME } from "../../config/index.js";
import { parseCommandArgs } from "../args.js";
import { buildLibraryNodes } from "../library-nodes.js";
import { printJson } from "../output.js";
import { configKeyError } from "../config-problem.js";

export const addHelp = `sabuild add <library>/<name> [--as SUBAGENT] [--json]
  Appends a subagent to subagents.yaml whose source is that agent or skill of the library (at
  the library's pinned commit, for a git library), and creates its empty task file
  tasks/<subagent>.jsonl as init does. Comments and layout of subagents.yaml are kept.
  <library>/<name> is a hit's id as \`sabuild search\` prints it. --as: the subagent's name
  (default: the entry's name).`;

export async function addCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("add", argv, { as: { type: "string" } });
  if (args.help) return (console.log(addHelp), 0);
  if (args.positionals.length !== 1) throw new UserInputError("sabuild add takes one <library>/<name> (as `sabuild search` lists them)");
  const wanted = args.positionals[0]!;
  const session = await openProject(args.global);
  const project = session.project;
  const slash = wanted.indexOf("/");
  const libName = slash > 0 ? wanted.slice(0, slash) : "";
  const lib = project.libraries.find((l) => l.name === libName);
  if (!lib) {
    const names = project.libraries.map((l) => l.name);
    const guess = didYouMean(libName, names);
    throw new UserInputError(`"${wanted}": no library "${libName}"${guess ? ` (did you mean "${guess}"?)` : ""}; libraries: ${names.join(", ") || "none (add one with `sabuild library add`)"}`);
  }
  const built = await buildLibraryNodes(session, [libraryNode(lib.name)], `add ${wanted}`);
  const entry = pick((await readLibraryIndex(built.get(libraryNode(lib.name))!.dir)).entries, wanted);

  const name = (args.values.as as string | undefined) ?? sanitizeName(entry.name);
  const configShown = basename(project.file);
  if (!SUBAGENT_NAME.test(name)) throw new UserInputError(`--as ${name}: a subagent's name is lowercase letters, digits, "-" and "_"`);
  const source = { ...entry.source, library: lib.name };
  const same = project.subagents.find((s) => JSON.stringify(sorted(s.source)) === JSON.stringify(sorted(source)));
  if (same) throw await configKeyError(project.file, ["subagents", same.name, "source"], `${wanted} is already the source of subagent "${same.name}"`, "build that subagent, or pass --as <name> to add it a second time under another name");
  if (project.subagents.some((s) => s.name === name)) throw await configKeyError(project.file, ["subagents", name], `a subagent named "${name}" is already declared`, `pass --as <another name>, e.g. --as ${lib.name}-${name}`);

  const tasks = `tasks/${name}.jsonl`;
  await editConfig(project.file, (doc) => addSubagent(doc, name, { source, tasks: { from: tasks } }));
  const taskFile = join(project.root, tasks);
  const created = !(await stat(taskFile).then(() => true, () => false));
  if (created) {
    await mkdir(dirname(taskFile), { recursive: true });
    await writeFile(taskFile, "");
  }
  if (args.global.json) printJson({ ok: true, subagent: name, entry: entry.id, kind: entry.kind, source, commit: entry.commit, tasks, created: created ? [tasks] : [] });
  else {
    console.log(`added subagent ${name} (${entry.kind} ${entry.id}${entry.commit ? ` at ${entry.commit.slice(0, 12)}` : ""}) to ${configShown}`);
    if (created) console.log(`created the empty task file ${tasks} (one JSON task per line)`);
  }
  return 0;
}

/** The entry with that id; else the one entry of that name (ids qualify names a library holds twice). */
function pick(entries: LibraryEntry[], wanted: string): LibraryEntry {
  const exact = entries.find((e) => e.id === wanted);
  if (exact) return exact;
  const tail = wanted.slice(wanted.indexOf("/") + 1);
  const byName = entries.filter((e) => e.name === tail);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw new UserInputError(`"${wanted}" names ${byName.length} entries: ${byName.map((e) => e.id).join(", ")}; give one of these ids`);
  const guess = didYouMean(wanted, entries.map((e) => e.id));
  throw new UserInputError(`no agent or skill "${wanted}"${guess ? ` (did you mean "${guess}"?)` : ""}; find one with \`sabuild search <what it should do>\``);
}

const sorted = (o: object): [string, unknown][] => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
