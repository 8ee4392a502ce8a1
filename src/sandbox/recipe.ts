import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalJson, sha256 } from "../engine/key.js";
import type { FileFacts } from "../store/stat-cache.js";
import type { SandboxLimits } from "./types.js";

/**
 * A recipe is a folder `recipes/<name>/`: a Dockerfile and its build context, an optional
 * workspace seed and `recipe.yaml`. The project's own recipes/ comes first, then the recipes
 * shipped with sabuild (the package's recipes/, next to dist/).
 */

export const RECIPE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

export interface Recipe {
  name: string;
  /** Absolute path of the recipe folder (the build context). */
  dir: string;
  /** "project" when found in the project's recipes/, "builtin" when shipped with sabuild. */
  origin: "project" | "builtin";
  description: string;
  tools: string[];
  workdir: string;
  user: string;
  limits: SandboxLimits;
}

/** The recipes shipped with sabuild: dist/sandbox/recipe.js -> ../../recipes. */
export const BUILTIN_RECIPES = fileURLToPath(new URL("../../recipes/", import.meta.url));

function searchPath(projectRoot: string | undefined): { dir: string; origin: Recipe["origin"] }[] {
  const dirs: { dir: string; origin: Recipe["origin"] }[] = [];
  if (projectRoot) dirs.push({ dir: join(projectRoot, "recipes"), origin: "project" });
  dirs.push({ dir: BUILTIN_RECIPES, origin: "builtin" });
  return dirs;
}

/** Names of every recipe a project can use, sorted. */
export function knownRecipes(projectRoot?: string): string[] {
  const names = new Set<string>();
  for (const { dir } of searchPath(projectRoot)) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(dir, entry.name, "recipe.yaml"))) names.add(entry.name);
    }
  }
  return [...names].sort();
}

/** Where a recipe lives, or undefined when no search directory has it. */
export function locateRecipe(name: string, projectRoot?: string): { dir: string; origin: Recipe["origin"] } | undefined {
  if (!RECIPE_NAME.test(name)) return undefined;
  for (const { dir, origin } of searchPath(projectRoot)) {
    const candidate = join(dir, name);
    if (existsSync(join(candidate, "recipe.yaml"))) return { dir: candidate, origin };
  }
  return undefined;
}

/** Every file of the build context, relative to the recipe folder, forward slashes, sorted. */
export function contextFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() || entry.isSymbolicLink()) out.push(relative(dir, full).split(sep).join("/"));
    }
  };
  walk(dir);
  return out.sort();
}

const digestMemo = new Map<string, string>();

/**
 * sha256 over every context file (path, executable bit, content) and the base image name:
 * what the image is built from. Memoised per process: plan asks for it once per subagent. With
 * `facts` (the store's stat cache), each file's digest and the whole one are remembered across
 * runs while the files are unchanged, so a no-op reads and hashes none of them.
 */
export function contextDigest(dir: string, baseImage: string, facts?: FileFacts): string {
  const memoKey = `${dir}\0${baseImage}`;
  const known = digestMemo.get(memoKey);
  if (known) return known;
  const files = contextFiles(dir).map((rel) => {
    const full = join(dir, rel);
    const st = statSync(full);
    const content = facts ? facts.remember(full, "sha256", () => sha256(readFileSync(full)), st) : sha256(readFileSync(full));
    return [rel, (st.mode & 0o111) !== 0, content];
  });
  const preimage = canonicalJson({ baseImage, files });
  // Remembered on the folder, and only for the very same list of files, modes and digests.
  const digest = facts ? facts.remember(dir, "context-digest", () => ({ preimage, digest: sha256(preimage) }), statSync(dir), (v) => v.preimage === preimage).digest : sha256(preimage);
  digestMemo.set(memoKey, digest);
  return digest;
}

/** Forgets memoised digests (tests change recipe files within one process). */
export function forgetContextDigests(): void {
  digestMemo.clear();
}
