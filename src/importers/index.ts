import path from "node:path";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { importAgentFile, type Imported } from "./agent.js";
import { fileProblem, isFile, relPath } from "./files.js";
import { importInline } from "./inline.js";
import { MANIFEST, pluginDir } from "./plugin-manifest.js";
import { PLUGIN_MCP } from "./plugin-mcp.js";
import { importPluginItems, listPluginItems, selectPluginItem, type PluginItem, type PluginItems } from "./plugin.js";
import { importSkillDir } from "./skill.js";
import { bundleFiles, SKILL_FILE, skillDir } from "./skill-files.js";
import type { SourceRef } from "./sources.js";
import type { ImportWarning, SubagentSpec } from "./types.js";

export type { Imported } from "./agent.js";
export { listImportInputs } from "./inputs.js";
export { discoverSources } from "./discover.js";
export { renderInitConfig } from "./init-config.js";
export { CANONICAL_TOOLS } from "./tools.js";
export type { DiscoveredSource, InlineSource, SourceRef } from "./sources.js";
export type * from "./types.js";

/** The files a plugin item's import reads (see listImportInputs in inputs.ts). */
export async function listPluginImportInputs(root: string, source: { plugin: string; name?: string }): Promise<Result<string[], Problem[]>> {
  const picked = await pickPluginItem(root, source);
  if (!picked.ok) return picked;
  const { items, item } = picked.value;
  const chosen = item.result.ok ? item.result.value.spec : undefined;
  const bundle = chosen?.provenance.format === "plugin-skill" ? await bundleFiles(path.resolve(root, path.dirname(chosen.provenance.path))) : [];
  const mcp = path.join(items.manifest.dir, PLUGIN_MCP);
  return ok([
    path.join(items.manifest.dir, MANIFEST),
    ...((await isFile(mcp)) ? [mcp] : []),
    ...items.agents,
    ...items.skills.map((d) => path.join(d, SKILL_FILE)),
    ...bundle,
  ]);
}

/** Imports one subagent. `fallbackName` names an inline subagent that gives no name of its own. */
export async function importSource(
  root: string,
  source: SourceRef,
  fallbackName: string,
): Promise<Result<{ spec: SubagentSpec; warnings: ImportWarning[] }, Problem[]>> {
  if ("inline" in source) return ok(importInline(source.inline, fallbackName));
  if ("agent" in source) return importAgentFile(root, path.resolve(root, source.agent), "claude-agent");
  if ("skill" in source) {
    const dir = await skillDir(path.resolve(root, source.skill));
    if (!(await isFile(path.join(dir, SKILL_FILE)))) return err([missingSkill(root, dir)]);
    return importSkillDir(root, dir, "skill");
  }
  const picked = await pickPluginItem(root, source);
  return picked.ok ? picked.value.item.result : picked;
}

/** Imports every agent and skill of a plugin, collecting the problems of all that fail. */
export async function importPlugin(root: string, plugin: string): Promise<Result<{ plugin: string; items: Imported[] }, Problem[]>> {
  const items = await listPluginItems(root, await pluginDir(path.resolve(root, plugin)));
  if (!items.ok) return items;
  const imported = await importPluginItems(root, items.value);
  const problems = imported.flatMap((i) => (i.result.ok ? [] : i.result.error));
  if (problems.length > 0) return err(problems);
  return ok({ plugin: items.value.manifest.name, items: imported.flatMap((i) => (i.result.ok ? [i.result.value] : [])) });
}

async function pickPluginItem(
  root: string,
  source: { plugin: string; name?: string },
): Promise<Result<{ items: PluginItems; item: PluginItem }, Problem[]>> {
  const items = await listPluginItems(root, await pluginDir(path.resolve(root, source.plugin)));
  if (!items.ok) return items;
  const item = selectPluginItem(items.value.manifest, await importPluginItems(root, items.value), source.name);
  return item.ok ? ok({ items: items.value, item: item.value }) : item;
}

export function missingSkill(root: string, dir: string): Problem {
  return fileProblem(relPath(root, path.join(dir, SKILL_FILE)), "skill not found: no SKILL.md at this path", "point `skill:` at a directory holding SKILL.md");
}
