import path from "node:path";
import { importAgentFile } from "./agent.js";
import { byCodeUnit, relPath, walkFiles } from "./files.js";
import { importPluginItems, listPluginItems } from "./plugin.js";
import { importSkillDir } from "./skill.js";
import { SKILL_FILE } from "./skill-files.js";
import type { DiscoveredSource } from "./sources.js";

/**
 * Directories never searched: dependencies, VCS data, build output, and sabuild's own state
 * (.sabuild holds copies of imported sources that would otherwise be found a second time).
 */
const SKIP = new Set(["node_modules", ".git", "cache", "dist", ".sabuild", ".venv"]);

/**
 * Finds importable sources under root for `sabuild init`: agent files under any `.claude/agents/`,
 * skills (any SKILL.md) and plugins (any `.claude-plugin/plugin.json`). A plugin's own agents and
 * skills are reported once, as plugin items. Sources that fail to import are still reported (under
 * their file name), so init lists them and the build shows their problems.
 */
export async function discoverSources(root: string): Promise<DiscoveredSource[]> {
  const files = await walkFiles(root, (name) => !SKIP.has(name), (name) => name.endsWith(".md") || name === "plugin.json");
  const found: DiscoveredSource[] = [];
  const claimed = new Set<string>();

  for (const manifest of files.filter((f) => path.basename(path.dirname(f)) === ".claude-plugin" && path.basename(f) === "plugin.json")) {
    const dir = path.dirname(path.dirname(manifest));
    const items = await listPluginItems(root, dir);
    // A plugin with a broken manifest is left out: it cannot be built until the manifest is fixed.
    if (!items.ok) continue;
    const plugin = relPath(root, dir) || ".";
    for (const item of await importPluginItems(root, items.value)) {
      claimed.add(item.file);
      found.push({ name: item.name, source: { plugin, name: item.name }, format: item.format, path: item.file });
    }
  }

  for (const abs of files) {
    const file = relPath(root, abs);
    if (claimed.has(file)) continue;
    if (path.basename(abs) === SKILL_FILE) {
      const dir = path.dirname(abs);
      const skill = await importSkillDir(root, dir, "skill");
      const name = skill.ok ? skill.value.spec.name : path.basename(dir);
      found.push({ name, source: { skill: relPath(root, dir) || "." }, format: "skill", path: file });
    } else if (/(^|\/)\.claude\/agents\/.+\.md$/.test(file)) {
      const agent = await importAgentFile(root, abs, "claude-agent");
      const name = agent.ok ? agent.value.spec.name : path.basename(abs, ".md");
      found.push({ name, source: { agent: file }, format: "claude-agent", path: file });
    }
  }
  return found.sort((a, b) => byCodeUnit(a.path, b.path));
}
