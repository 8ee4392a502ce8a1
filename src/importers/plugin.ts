import { readdir } from "node:fs/promises";
import path from "node:path";
import { didYouMean, type Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { importAgentFile, type Imported } from "./agent.js";
import { byCodeUnit, fileProblem, isDirectory, isFile, relPath, walkFiles } from "./files.js";
import { readPluginManifest, type PluginManifest } from "./plugin-manifest.js";
import { readPluginMcp } from "./plugin-mcp.js";
import { importSkillDir } from "./skill.js";
import { SKILL_FILE } from "./skill-files.js";

/** The component files of a plugin: agent .md files and skill directories (absolute, sorted). */
export interface PluginItems {
  manifest: PluginManifest;
  agents: string[];
  skills: string[];
}

const visible = (name: string) => !name.startsWith(".");

/**
 * Lists a plugin's agents and skills: the default `agents/` and `skills/` folders plus the custom
 * paths in plugin.json, which Claude Code loads in addition to the defaults.
 */
export async function listPluginItems(root: string, dir: string): Promise<Result<PluginItems, Problem[]>> {
  const manifest = await readPluginManifest(root, dir);
  if (!manifest.ok) return manifest;
  const m = manifest.value;
  const agents = new Set(await agentFilesIn(path.join(dir, "agents")));
  const skills = new Set(await skillDirsIn(path.join(dir, "skills")));
  const problems = [...(await addCustom(m, "agents", agentFilesIn, agents)), ...(await addCustom(m, "skills", skillDirsIn, skills))];
  if (problems.length > 0) return err(problems);
  return ok({ manifest: m, agents: [...agents].sort(byCodeUnit), skills: [...skills].sort(byCodeUnit) });
}

/** Adds the items under a manifest's custom paths; a path that does not exist is a problem. */
async function addCustom(
  m: PluginManifest,
  key: "agents" | "skills",
  collect: (abs: string) => Promise<string[]>,
  into: Set<string>,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const p of m[key]) {
    const abs = path.resolve(m.dir, p);
    if ((await isFile(abs)) || (await isDirectory(abs))) {
      for (const item of await collect(abs)) into.add(item);
      continue;
    }
    const line = m.keyLines[key] ?? 0;
    const message = `${key} path ${JSON.stringify(p)} does not exist (paths are relative to the plugin root)`;
    problems.push({ file: m.file, line, column: line > 0 ? 1 : 0, keyPath: [key], message });
  }
  return problems;
}

/** Agent files: the path itself when it is a file, else every .md below it. */
async function agentFilesIn(abs: string): Promise<string[]> {
  if (await isFile(abs)) return [abs];
  return walkFiles(abs, visible, (name) => visible(name) && name.endsWith(".md"));
}

/** Skill directories: the path itself when it holds SKILL.md, else each child directory that does. */
async function skillDirsIn(abs: string): Promise<string[]> {
  if (await isFile(path.join(abs, SKILL_FILE))) return [abs];
  const entries = await readdir(abs, { withFileTypes: true }).catch(() => []);
  const dirs: string[] = [];
  for (const e of entries) {
    const child = path.join(abs, e.name);
    if (e.isDirectory() && visible(e.name) && (await isFile(path.join(child, SKILL_FILE)))) dirs.push(child);
  }
  return dirs.sort(byCodeUnit);
}

/** One imported plugin item, or the problems that kept it from importing (it still has a name). */
export interface PluginItem {
  name: string;
  format: "plugin-agent" | "plugin-skill";
  /** The agent .md or SKILL.md, relative to the project root. */
  file: string;
  result: Result<Imported, Problem[]>;
}

/** Imports every agent and skill of a plugin; an item that fails keeps its file name as its name. */
export async function importPluginItems(root: string, items: PluginItems): Promise<PluginItem[]> {
  const plugin = items.manifest.name;
  const servers = await readPluginMcp(root, items.manifest.dir);
  const out: PluginItem[] = [];
  for (const abs of items.agents) {
    const result = withPluginServers(await importAgentFile(root, abs, "plugin-agent", plugin), servers);
    out.push({ name: result.ok ? result.value.spec.name : path.basename(abs, ".md"), format: "plugin-agent", file: relPath(root, abs), result });
  }
  for (const dir of items.skills) {
    const result = withPluginServers(await importSkillDir(root, dir, "plugin-skill", plugin), servers);
    out.push({ name: result.ok ? result.value.spec.name : path.basename(dir), format: "plugin-skill", file: relPath(root, path.join(dir, SKILL_FILE)), result });
  }
  return out;
}

/** The plugin's .mcp.json servers join each item's own (an agent's mcpServers win on a name). */
function withPluginServers(result: Result<Imported, Problem[]>, servers: Result<Record<string, unknown> | undefined, Problem[]>): Result<Imported, Problem[]> {
  if (!servers.ok) return result.ok ? servers : err([...result.error, ...servers.error]);
  if (!result.ok || servers.value === undefined) return result;
  const own = result.value.spec.mcpServers;
  const merged = own !== null && typeof own === "object" && !Array.isArray(own) ? { ...servers.value, ...own } : servers.value;
  return ok({ ...result.value, spec: { ...result.value.spec, mcpServers: merged } });
}

/**
 * Picks one item by name. Without a name, a plugin holding exactly one item means that item;
 * otherwise the problem lists the choices, because guessing would build the wrong subagent.
 */
export function selectPluginItem(manifest: PluginManifest, items: PluginItem[], name: string | undefined): Result<PluginItem, Problem[]> {
  const names = items.map((i) => i.name);
  const listing = names.length > 0 ? `it holds: ${names.join(", ")}` : "it holds no agents or skills";
  if (name === undefined) {
    if (items.length === 1) return ok(items[0]!);
    return err([fileProblem(manifest.file, `plugin "${manifest.name}" holds ${items.length} agents and skills; say which one to import`, `add name: <one of them> to the source; ${listing}`)]);
  }
  const matches = items.filter((i) => i.name === name);
  if (matches.length === 1) return ok(matches[0]!);
  if (matches.length > 1) {
    return err([fileProblem(manifest.file, `plugin "${manifest.name}" has ${matches.length} items named "${name}": ${matches.map((m) => m.file).join(", ")}`, "rename one of them")]);
  }
  const guess = didYouMean(name, names);
  return err([fileProblem(manifest.file, `plugin "${manifest.name}" has no agent or skill named "${name}"`, guess ? `did you mean "${guess}"? ${listing}` : listing)]);
}
