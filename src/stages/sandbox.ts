import { statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { didYouMean, type Problem } from "../errors.js";
import type { Json } from "../engine/key.js";
import { err, ok } from "../result.js";
import { contextDigest, contextFiles, knownRecipes, locateRecipe } from "../sandbox/recipe.js";
import type { ResolvedSubagent } from "../config/index.js";
import { configName } from "./config-name.js";
import type { Stage } from "./types.js";

/** The limits a subagent overrides (only those written: the recipe gives the rest). */
function overrides(s: ResolvedSubagent["sandbox"]): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const key of ["network", "memory", "cpus", "pids", "command_timeout_s", "output_limit_bytes"] as const) {
    if (s[key] !== undefined) out[key] = s[key];
  }
  return out;
}

/**
 * The images the subagent's tasks run in, one map item per distinct environment (src/envs):
 * the subagent's recipe for tasks without `env` (item "default"), and each task's own image,
 * repository at a commit or Dockerfile folder. Items fan out over the tasks: an environment's
 * key is what it is built from, so tasks and subagents that share one build it once, and a
 * changed commit rebuilds that image only. Each item writes image.json (a SandboxImage). The
 * stage's key covers the recipe (every file of its build context and the base image): a recipe
 * in the project is declared as input files (the stat cache hashes them); a recipe shipped with
 * sabuild lies outside the project, so its context digest goes into the toolchain.
 */
export function sandboxStage(): Stage {
  return {
    kind: "sandbox",
    // 2: a map over environments (items/<env>/image.json), no longer one image.json.
    version: "2",
    deps: ["tasks"],
    async inputs({ project, subagent, files: facts }) {
      const { recipe, base_image } = subagent.sandbox;
      const found = locateRecipe(recipe, project.root);
      if (!found) {
        const known = knownRecipes(project.root);
        const guess = didYouMean(recipe, known);
        const problem: Problem = {
          file: configName(project),
          line: 0,
          column: 0,
          keyPath: ["subagents", subagent.name, "sandbox", "recipe"],
          message: `unknown sandbox recipe "${recipe}"`,
          expected: `one of ${known.join(", ")}`,
          hint: guess ? `did you mean "${guess}"?` : `add recipes/${recipe}/ (a Dockerfile and a recipe.yaml) to the project, or pick a known recipe`,
        };
        return err([problem]);
      }
      const params: { [key: string]: Json } = {
        // Which recipe is built (its files are keyed below, by content).
        recipe,
        // The image the Dockerfile builds FROM, by name: a tag pulled anew is not seen (pin it by digest).
        base_image,
        // The limits image.json records and every rollout's container gets.
        limits: overrides(subagent.sandbox),
      };
      if (found.origin === "project") {
        const rel = relative(project.root, found.dir).split(sep).join("/");
        const files = contextFiles(found.dir);
        // COPY keeps the executable bit, which file digests (content only) do not see.
        params.executable = files.filter((f) => (statSync(join(found.dir, f)).mode & 0o111) !== 0);
        return ok({ params, files: files.map((f) => `${rel}/${f}`) });
      }
      // A shipped recipe lies outside the project: its context digest (content and modes) stands for its files.
      return ok({ params, files: [], toolchain: { [`recipe:${recipe}`]: contextDigest(found.dir, base_image, facts) } });
    },
    map: {
      over: "tasks",
      async open(ctx) {
        return (await import("./sandbox-run.js")).openEnvironments(ctx);
      },
    },
  };
}
