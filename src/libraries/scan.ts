import path from "node:path";
import type { Imported } from "../importers/agent.js";
import { importAgentFile } from "../importers/agent.js";
import { byCodeUnit, readText, relPath, walkFiles } from "../importers/files.js";
import { importPluginItems, listPluginItems } from "../importers/plugin.js";
import { importSkillDir } from "../importers/skill.js";
import { SKILL_FILE } from "../importers/skill-files.js";
import type { Problem } from "../errors.js";
import { metaOf, readMarketplace, type PluginMeta } from "./marketplace.js";
import { candidateFile, enterFolder } from "./walk.js";
import type { EntryKind, EntrySource, IndexWarning, LibraryEntry, LibraryIndex, UnresolvedPlugin } from "./types.js";

/** Markdown that documents a collection rather than being one of its agents. */
const NOT_AGENTS = /^(readme|changelog|contributing|license|code_of_conduct|security|claude|agents)\.md$/i;

/** Whether a folder above `file` is one of `dirs`: by walking up, as a library has thousands of each. */
function under(file: string, dirs: Set<string>): boolean {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) if (dirs.has(dir)) return true;
  return false;
}

/**
 * Finds every agent and skill in a library folder, in any of the layouts the importers read:
 * marketplace.json catalogues (for their local plugins' categories and keywords), plugin folders,
 * SKILL.md folders, and agent Markdown files (under `agents/` or `.claude/agents/`, or anywhere
 * with `name` and `description` in their frontmatter, as flat community collections lay them
 * out). A file that does not import is a warning naming it; the rest still indexes.
 */
export async function scanLibrary(library: string, commit: string | null, dir: string): Promise<LibraryIndex> {
  const files = await walkFiles(dir, enterFolder, candidateFile);
  const found: Omit<LibraryEntry, "id">[] = [];
  const warnings: IndexWarning[] = [];
  const unresolved: UnresolvedPlugin[] = [];
  const meta = new Map<string, PluginMeta>();
  const problems = (ps: Problem[]) => ps.forEach((p) => warnings.push({ file: p.file + (p.line ? `:${p.line}` : ""), message: p.message }));
  const add = (kind: EntryKind, imported: Imported, source: EntrySource, inherited: PluginMeta | undefined) =>
    found.push(entryOf(library, commit, kind, imported, source, inherited));

  for (const abs of files.filter((f) => f.endsWith(path.join(".claude-plugin", "marketplace.json")))) {
    const read = await readMarketplace(dir, abs);
    for (const [pluginDir, m] of read.plugins) meta.set(pluginDir, m);
    unresolved.push(...read.unresolved);
    warnings.push(...read.warnings);
  }

  const plugins = new Set<string>();
  const pluginManifests = files.filter((f) => f.endsWith(path.join(".claude-plugin", "plugin.json")));
  for (const read of await inParallel(pluginManifests, async (abs) => {
    const pluginDir = path.dirname(path.dirname(abs));
    const items = await listPluginItems(dir, pluginDir);
    if (!items.ok) return { pluginDir, problems: items.error, imported: [] };
    const inherited = mergeMeta(meta.get(pluginDir), await manifestMeta(abs));
    return { pluginDir, problems: [], inherited, imported: await importPluginItems(dir, items.value) };
  })) {
    problems(read.problems);
    if (read.problems.length) continue;
    plugins.add(read.pluginDir);
    for (const item of read.imported) {
      if (!item.result.ok) problems(item.result.error);
      else add(item.format === "plugin-agent" ? "agent" : "skill", item.result.value, { plugin: relPath(dir, read.pluginDir) || ".", name: item.name }, read.inherited);
    }
  }

  const skillFiles = files.filter((f) => path.basename(f) === SKILL_FILE && !under(f, plugins));
  const skills = new Set(skillFiles.map((f) => path.dirname(f)));
  for (const [i, imported] of (await inParallel(skillFiles, (abs) => importSkillDir(dir, path.dirname(abs), "skill"))).entries()) {
    if (!imported.ok) problems(imported.error);
    else add("skill", imported.value, { skill: relPath(dir, path.dirname(skillFiles[i]!)) || "." }, undefined);
  }

  const agentFiles = files.filter((f) => f.endsWith(".md") && !NOT_AGENTS.test(path.basename(f)) && !under(f, plugins) && !under(f, skills) && !/(^|\/)commands\//.test(relPath(dir, f)));
  for (const read of await inParallel(agentFiles, readAgent.bind(null, dir))) {
    if (read.problems) problems(read.problems);
    else if (read.imported) add("agent", read.imported, { agent: read.rel }, undefined);
  }
  return { library, commit, entries: withIds(library, found), warnings, unresolved };
}

/**
 * An agent file: under `agents/`, or anywhere with a name and a description in its frontmatter.
 * Markdown without frontmatter is documentation and is passed over without a word.
 */
async function readAgent(dir: string, abs: string): Promise<{ rel: string; imported?: Imported; problems?: Problem[] }> {
  const rel = relPath(dir, abs);
  const text = await readText(abs);
  if (!text?.startsWith("---")) return { rel };
  const imported = await importAgentFile(dir, abs, "claude-agent");
  const inAgents = /(^|\/)agents\//.test(rel);
  if (!imported.ok) return inAgents || looksLikeAgent(text) ? { rel, problems: imported.error } : { rel };
  const fm = imported.value.spec.provenance.frontmatter;
  return inAgents || (fm.name !== undefined && fm.description !== undefined) ? { rel, imported: imported.value } : { rel };
}

/** Files are read this many at a time: the scan waits on the disk more than it computes. */
const READS_AT_ONCE = 32;

/** `fn` over the items, READS_AT_ONCE at a time, results in the items' order. */
async function inParallel<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, items.length) }, worker));
  return out;
}

/** A file that opens with frontmatter mentioning a description: meant as an agent, so failing to read it is worth a warning. */
function looksLikeAgent(text: string | undefined): boolean {
  return /^description\s*:/m.test(text?.slice(0, 2000) ?? "");
}

function entryOf(library: string, commit: string | null, kind: EntryKind, imported: Imported, source: EntrySource, inherited: PluginMeta | undefined): Omit<LibraryEntry, "id"> {
  const { spec } = imported;
  const own = metaOf(spec.provenance.frontmatter);
  const category = own.category ?? inherited?.category;
  const license = own.license ?? inherited?.license;
  return {
    name: spec.name,
    kind,
    description: spec.description,
    tools: [...spec.tools.allowed, ...spec.tools.mcp],
    allTools: spec.tools.all,
    body: spec.prompt,
    ...(category ? { category } : {}),
    keywords: [...new Set([...own.keywords, ...(inherited?.keywords ?? [])])],
    ...(license ? { license } : {}),
    ...(spec.provenance.plugin ? { plugin: spec.provenance.plugin } : {}),
    library,
    path: spec.provenance.path,
    commit,
    source,
  };
}

/** A name is the id's tail; a name taken twice in the library is told apart by its plugin or folder, then its path. */
function withIds(library: string, found: Omit<LibraryEntry, "id">[]): LibraryEntry[] {
  const sorted = found.toSorted((a, b) => byCodeUnit(a.path, b.path));
  const count = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
  const byName = count(sorted.map((e) => e.name));
  const qualified = sorted.map((e) => (byName.get(e.name)! > 1 ? `${e.plugin ?? path.posix.basename(path.posix.dirname(e.kind === "skill" ? path.posix.dirname(e.path) : e.path))}/${e.name}` : e.name));
  const again = count(qualified);
  return sorted.map((e, i) => ({ id: `${library}/${again.get(qualified[i]!)! > 1 ? e.path : qualified[i]}`, ...e }));
}

async function manifestMeta(abs: string): Promise<PluginMeta> {
  try {
    return metaOf(JSON.parse((await readText(abs)) ?? "{}") as Record<string, unknown>);
  } catch {
    return { keywords: [] };
  }
}

function mergeMeta(a: PluginMeta | undefined, b: PluginMeta): PluginMeta {
  const category = a?.category ?? b.category;
  const license = a?.license ?? b.license;
  return { ...(category ? { category } : {}), keywords: [...new Set([...(a?.keywords ?? []), ...b.keywords])], ...(license ? { license } : {}) };
}

