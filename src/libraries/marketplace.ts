import path from "node:path";
import { isDirectory, readText, relPath } from "../importers/files.js";
import type { IndexWarning, UnresolvedPlugin } from "./types.js";

/** What a marketplace entry says of a plugin, which its agents and skills inherit where they say nothing. */
export interface PluginMeta {
  category?: string;
  keywords: string[];
  license?: string;
}

export interface MarketplaceRead {
  /** Absolute plugin folder -> what the marketplace says of it, for plugins with a local source. */
  plugins: Map<string, PluginMeta>;
  unresolved: UnresolvedPlugin[];
  warnings: IndexWarning[];
}

/**
 * Reads `.claude-plugin/marketplace.json` (Claude Code's plugin catalogue). A plugin whose source
 * is a relative path is in the library and is indexed from its folder; a GitHub, git or URL
 * source would need a fetch, so it is reported as unresolved rather than fetched behind the
 * user's back (add that repository as a library of its own to index it).
 */
export async function readMarketplace(root: string, abs: string): Promise<MarketplaceRead> {
  const file = relPath(root, abs);
  const out: MarketplaceRead = { plugins: new Map(), unresolved: [], warnings: [] };
  let json: unknown;
  try {
    json = JSON.parse((await readText(abs)) ?? "");
  } catch (e) {
    out.warnings.push({ file, message: `not valid JSON: ${(e as Error).message}` });
    return out;
  }
  const plugins = (json as { plugins?: unknown })?.plugins;
  if (!Array.isArray(plugins)) {
    out.warnings.push({ file, message: "no plugins list" });
    return out;
  }
  const base = path.dirname(path.dirname(abs));
  const pluginRoot = (json as { metadata?: { pluginRoot?: unknown } }).metadata?.pluginRoot;
  for (const [i, p] of plugins.entries()) {
    const entry = (p ?? {}) as Record<string, unknown>;
    const name = typeof entry.name === "string" ? entry.name : `plugins[${i}]`;
    const source = entry.source;
    if (typeof source !== "string") {
      const described = source && typeof source === "object" ? JSON.stringify(source) : String(source);
      out.unresolved.push({ marketplace: file, plugin: name, source: described, why: "its source is outside the library (a fetch would be needed)" });
      continue;
    }
    // Claude Code resolves a bare name against metadata.pluginRoot, a path against the marketplace root.
    const rel = !source.startsWith(".") && typeof pluginRoot === "string" ? path.join(pluginRoot, source) : source;
    const dir = path.resolve(base, rel);
    if (!(await isDirectory(dir))) {
      out.warnings.push({ file, message: `plugin "${name}": source ${JSON.stringify(source)} is not a folder of the library` });
      continue;
    }
    out.plugins.set(dir, metaOf(entry));
  }
  return out;
}

export function metaOf(fields: Record<string, unknown>): PluginMeta {
  const text = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
  const category = text(fields.category);
  const license = text(fields.license);
  return { ...(category ? { category } : {}), keywords: wordList(fields.keywords ?? fields.tags), ...(license ? { license } : {}) };
}

/** Keywords as formats write them: a list, or one comma-separated string. */
export function wordList(v: unknown): string[] {
  if (typeof v === "string") return v.split(",").map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === "string" && s.trim() !== "").map((s) => s.trim());
  return [];
}
