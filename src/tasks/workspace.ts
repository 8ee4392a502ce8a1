import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";

/**
 * The files of the sandbox's workspace, for the teacher's prompts: tasks that name files which
 * exist stay in scope. Read from the workspace seed on disk (`sandbox.workspace` in the project,
 * else the recipe's `workspace/` folder, the recipe looked up as the sandbox stage does), not
 * from a built image: listing it needs no Docker, the tasks stage need not wait for (or depend
 * on) the sandbox image, and the names go into the stage's key.
 */

export interface WorkspaceListing {
  /** Where the listing was read, relative to the project or to sabuild's own folder. */
  source: string;
  files: string[];
}

/** More than enough for a prompt, which shows fewer; keeps the key small for big workspaces. */
export const MAX_LISTED = 200;
const SKIPPED = new Set([".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache", ".tox", "dist", "build"]);

/** sabuild's installation folder (dist/tasks/workspace.js -> the package root). */
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export async function workspaceListing(project: ProjectConfig, subagent: ResolvedSubagent): Promise<WorkspaceListing> {
  // The recipe as the sandbox stage finds it: the project's recipes/ first, then sabuild's own.
  const recipe = subagent.sandbox.recipe;
  for (const [root, label] of [[project.root, "project"], [PACKAGE_ROOT, "sabuild"]] as const) {
    if (existsSync(join(root, "recipes", recipe, "recipe.yaml"))) {
      return { source: `${label}:recipes/${recipe}/workspace`, files: await listFiles(join(root, "recipes", recipe, "workspace")) };
    }
  }
  return { source: `no recipe ${recipe}`, files: [] };
}

/** Sorted relative paths (forward slashes) of regular files, breadth first, at most MAX_LISTED. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  let level = [root];
  while (level.length && out.length < MAX_LISTED) {
    const next: string[] = [];
    for (const dir of level) {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const path = join(dir, e.name);
        if (e.isDirectory() && !SKIPPED.has(e.name)) next.push(path);
        else if (e.isFile() && out.length < MAX_LISTED) out.push(relative(root, path).split(sep).join("/"));
      }
    }
    level = next;
  }
  return out.sort();
}
