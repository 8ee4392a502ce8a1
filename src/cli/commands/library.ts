import { readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, relative, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { ProjectConfig } from "../../config/index.js";
import { loadConfigCached } from "../../config/cached.js";
import { LIBRARY_NAME, type ResolvedLibrary } from "../../config/library-schema.js";
import { didYouMean, UserInputError } from "../../errors.js";
import { deleteLibrary, editConfig, setLibrary, setLibraryCommit } from "../../libraries/config-edit.js";
import { readLibraryIndex } from "../../libraries/index-run.js";
import { gitUrl, isRemote } from "../../libraries/root.js";
import { sanitizeName } from "../../importers/init-config.js";
import { openProject } from "../../project.js";
import { libraryNode, SEARCH_NODE } from "../../stages/library.js";
import { parseCommandArgs } from "../args.js";
import { buildLibraryNodes } from "../library-nodes.js";
import { printJson } from "../output.js";
import { configKeyError } from "../config-problem.js";

export const libraryHelp = `sabuild library add <path | git URL> [--ref REF] [--name NAME] [--json]
sabuild library ls [--json]
sabuild library update [name...] [--json]
sabuild library remove <name> [--json]
  Skill and subagent libraries (under libraries: in subagents.yaml) to search and add from.
  add: a local folder, or a git repository cloned into the store at a pinned commit (REF: the
  branch or tag that update follows; a URL, a path ending in .git or a bare repository is git).
  update: moves each git library's pin to what its ref names now and re-indexes the libraries
  that moved, and only those. remove: refused while a subagent's source is in the library.`;

export async function libraryCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("library", argv, { ref: { type: "string" }, name: { type: "string" } });
  const [sub, ...rest] = args.positionals;
  if (args.help || sub === undefined) return (console.log(libraryHelp), args.help ? 0 : 2);
  const configFile = resolve(args.global.dir, args.global.config ?? "subagents.yaml");
  const ctx = { dir: args.global.dir, configFile, json: args.global.json, ...(args.global.config ? { config: args.global.config } : {}) };
  switch (sub) {
    case "add":
      if (rest.length !== 1) throw new UserInputError("sabuild library add takes one folder or git URL");
      return addLibrary(ctx, rest[0]!, args.values.ref as string | undefined, args.values.name as string | undefined);
    case "ls":
      return listLibraries(ctx);
    case "update":
      return updateLibraries(ctx, rest);
    case "remove":
      if (rest.length !== 1) throw new UserInputError("sabuild library remove takes one library name");
      return removeLibrary(ctx, rest[0]!);
    default: {
      const guess = didYouMean(sub, ["add", "ls", "update", "remove"]);
      throw new UserInputError(`unknown library command "${sub}"${guess ? ` (did you mean "${guess}"?)` : ""}; see sabuild library --help`);
    }
  }
}

interface Ctx {
  dir: string;
  config?: string;
  configFile: string;
  json: boolean;
}

async function loadProject(ctx: Ctx): Promise<ProjectConfig> {
  const loaded = await loadConfigCached(ctx.configFile);
  if (!loaded.ok) throw new UserInputError(`invalid ${relative(process.cwd(), ctx.configFile) || ctx.configFile}`, loaded.error);
  return loaded.value;
}

function named(project: ProjectConfig, name: string): ResolvedLibrary {
  const lib = project.libraries.find((l) => l.name === name);
  if (lib) return lib;
  const names = project.libraries.map((l) => l.name);
  const guess = didYouMean(name, names);
  throw new UserInputError(`no library "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}; libraries: ${names.join(", ") || "none (add one with `sabuild library add`)"}`);
}

const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);
const exists = (p: string) => stat(p).then(() => true, () => false);

/** A URL, scp-style address, a path ending in .git, or a bare repository is cloned; any other folder is read where it is. */
async function isGit(where: string): Promise<boolean> {
  if (isRemote(where) || where.replace(/\/+$/, "").endsWith(".git")) return true;
  const abs = resolve(process.cwd(), where);
  return (await exists(resolve(abs, "HEAD"))) && (await isDir(resolve(abs, "objects"))) && (await isDir(resolve(abs, "refs")));
}

function libraryName(where: string, given: string | undefined): string {
  if (given !== undefined) {
    if (!LIBRARY_NAME.test(given)) throw new UserInputError(`library name "${given}": use lowercase letters, digits, "-" and "_"`);
    return given;
  }
  const base = basename(where.replace(/\/+$/, "").replace(/\.git$/, "").replace(/^.*:/, ""));
  return base ? sanitizeName(base) : "library";
}

/** A new project's file, when `library add` is the first command run: libraries first, subagents picked from them. */
const STARTER = `# sabuild: distill Claude Code subagents and skills into small local models.
# Search the libraries below (sabuild search "<what you need>") and add hits (sabuild add <id>).
version: 1
subagents: {}
`;

/**
 * What adding a library needs of the project. A project with no subagents yet is what a first
 * library is for: its only complaint ("no subagents defined") is lifted by the library itself,
 * and a missing subagents.yaml is started.
 */
async function projectForAdd(ctx: Ctx): Promise<Pick<ProjectConfig, "root" | "store" | "libraries">> {
  if (!(await exists(ctx.configFile))) {
    await writeFile(ctx.configFile, STARTER);
    return { root: dirname(ctx.configFile), store: resolve(dirname(ctx.configFile), "cache"), libraries: [] };
  }
  const loaded = await loadConfigCached(ctx.configFile);
  if (loaded.ok) return loaded.value;
  if (!loaded.error.every((p) => p.keyPath.length === 1 && p.keyPath[0] === "subagents" && p.message === "no subagents defined")) return loadProject(ctx);
  const store = parseDocument(await readFile(ctx.configFile, "utf8")).get("store");
  return { root: dirname(ctx.configFile), store: resolve(dirname(ctx.configFile), typeof store === "string" ? store : "cache"), libraries: [] };
}

async function addLibrary(ctx: Ctx, where: string, ref: string | undefined, given: string | undefined): Promise<number> {
  const project = await projectForAdd(ctx);
  const name = libraryName(where, given);
  if (project.libraries.some((l) => l.name === name)) throw await configKeyError(ctx.configFile, ["libraries", name], `a library named "${name}" is already declared`, "pick another name with --name, or `sabuild library update` this one");
  let value: Record<string, string>;
  if (ref !== undefined || (await isGit(where))) {
    const { checkout, resolveRef } = await import("../../libraries/git.js");
    // A local repository is recorded relative to the project, as every path in subagents.yaml is.
    const recorded = isRemote(where) ? where : relative(project.root, resolve(process.cwd(), where)) || ".";
    const url = gitUrl(project, recorded);
    const commit = await resolveRef(project.store, url, ref);
    if (!commit.ok) throw new UserInputError(`library add: ${commit.error}\nhint: check the URL and --ref; the host's git clones it, with its credentials`);
    const tree = await checkout(project.store, url, commit.value);
    if (!tree.ok) throw new UserInputError(`library add: ${tree.error}`);
    value = { git: recorded, commit: commit.value, ...(ref !== undefined ? { ref } : {}) };
  } else {
    const abs = resolve(process.cwd(), where);
    if (!(await isDir(abs))) throw new UserInputError(`library add: ${where} is not a folder or a git repository\nhint: give a folder of agents, skills or plugins, or a git URL`);
    value = { path: relative(project.root, abs) || "." };
  }
  await editConfig(ctx.configFile, (doc) => setLibrary(doc, name, value));
  const indexed = await indexed1(ctx, name);
  if (ctx.json) printJson({ ok: true, library: name, ...value, ...indexed });
  else console.log(`added library ${name} (${"git" in value ? `${value.git} at ${value.commit!.slice(0, 12)}` : value.path}): ${indexed.agents} agents, ${indexed.skills} skills`);
  return 0;
}

/** Builds one library's index (and the search index over all) and counts what the library holds. */
async function indexed1(ctx: Ctx, name: string): Promise<{ agents: number; skills: number; warnings: number; unresolved: number; status: string }> {
  const session = await openProject(ctx);
  // The search node too, so the first search after an add does not wait for the ranker.
  const built = await buildLibraryNodes(session, [libraryNode(name), SEARCH_NODE], `library ${name}`);
  const node = built.get(libraryNode(name))!;
  const index = await readLibraryIndex(node.dir);
  const skills = index.entries.filter((e) => e.kind === "skill").length;
  return { agents: index.entries.length - skills, skills, warnings: index.warnings.length, unresolved: index.unresolved.length, status: node.status };
}

async function listLibraries(ctx: Ctx): Promise<number> {
  const session = await openProject(ctx);
  const libs = session.project.libraries;
  const built = libs.length ? await buildLibraryNodes(session, libs.map((l) => libraryNode(l.name)), "library ls") : new Map();
  const rows = [];
  for (const l of libs) {
    const index = await readLibraryIndex(built.get(libraryNode(l.name))!.dir);
    const skills = index.entries.filter((e) => e.kind === "skill").length;
    rows.push({ library: l.name, ...("git" in l ? { git: l.git, commit: l.commit, ...(l.ref ? { ref: l.ref } : {}) } : { path: l.path }), agents: index.entries.length - skills, skills, warnings: index.warnings, unresolved: index.unresolved });
  }
  if (ctx.json) printJson({ libraries: rows });
  else if (!rows.length) console.log("no libraries: add one with `sabuild library add <path | git URL>`");
  else
    for (const r of rows) {
      const where = "git" in r ? `${r.git} @ ${r.commit.slice(0, 12)}${r.ref ? ` (${r.ref})` : ""}` : r.path;
      const extra = [r.warnings.length ? `${r.warnings.length} files skipped` : "", r.unresolved.length ? `${r.unresolved.length} plugins outside it` : ""].filter(Boolean).join(", ");
      console.log(`${r.library}  ${where}  ${r.agents} agents, ${r.skills} skills${extra ? `  (${extra})` : ""}`);
    }
  return 0;
}

async function updateLibraries(ctx: Ctx, names: string[]): Promise<number> {
  const project = await loadProject(ctx);
  const libs = names.length ? names.map((n) => named(project, n)) : project.libraries;
  const moved: { library: string; from: string; to: string }[] = [];
  const { resolveRef, checkout } = await import("../../libraries/git.js");
  for (const lib of libs) {
    if (!("git" in lib)) continue;
    const url = gitUrl(project, lib.git);
    const commit = await resolveRef(project.store, url, lib.ref);
    if (!commit.ok) throw new UserInputError(`library update ${lib.name}: ${commit.error}`);
    if (commit.value === lib.commit) continue;
    const tree = await checkout(project.store, url, commit.value);
    if (!tree.ok) throw new UserInputError(`library update ${lib.name}: ${tree.error}`);
    moved.push({ library: lib.name, from: lib.commit, to: commit.value });
  }
  if (moved.length) await editConfig(ctx.configFile, (doc) => moved.forEach((m) => setLibraryCommit(doc, m.library, m.to)));
  // A local folder is keyed by its files: whatever changed in it is re-indexed here too.
  const session = await openProject(ctx);
  const targets = libs.map((l) => libraryNode(l.name));
  const built = libs.length ? await buildLibraryNodes(session, [...targets, SEARCH_NODE], "library update") : new Map();
  const reindexed = targets.filter((t) => built.get(t)?.status === "built").map((t) => t.slice("library/".length, -":index".length));
  if (ctx.json) printJson({ ok: true, moved, reindexed });
  else {
    for (const m of moved) console.log(`${m.library}: ${m.from.slice(0, 12)} -> ${m.to.slice(0, 12)}`);
    console.log(reindexed.length ? `re-indexed: ${reindexed.join(", ")}` : "every library is up to date");
  }
  return 0;
}

async function removeLibrary(ctx: Ctx, name: string): Promise<number> {
  const project = await loadProject(ctx);
  named(project, name);
  const users = project.subagents.filter((s) => "library" in s.source && s.source.library === name).map((s) => s.name);
  if (users.length) throw await configKeyError(ctx.configFile, ["libraries", name], `library ${name} is the source of ${users.join(", ")}`, "remove those subagents (or point their sources elsewhere) first");
  await editConfig(ctx.configFile, (doc) => deleteLibrary(doc, name));
  if (ctx.json) printJson({ ok: true, removed: name });
  else console.log(`removed library ${name} (its checkout stays in the store until \`sabuild clean\`)`);
  return 0;
}
