import { isAbsolute, join } from "node:path";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Json } from "../engine/key.js";
import { contextDigest, locateRecipe } from "../sandbox/recipe.js";
import type { SandboxImage } from "../sandbox/types.js";
import { checkoutTree, redactUrl, repoCacheDir, resolveCommit } from "./git.js";
import { redactedEnv } from "./identity.js";
import type { TaskEnv } from "./types.js";

/** Whose sandbox settings an environment builds on: a subagent's, or a benchmark's. */
export interface SandboxOwner {
  sandbox: ResolvedSubagent["sandbox"];
}

/**
 * What an environment resolves to, as the sandbox stage's item input: the environment as
 * written plus what it stands for now (the commit a tag names, the recipe's or the Dockerfile
 * folder's files), so a moved tag or an edited Dockerfile rebuilds that environment only. A
 * failure to resolve is kept as `error`: that environment's item fails, the others go on.
 */
export async function resolveEnvInput(project: ProjectConfig, subagent: SandboxOwner, env: TaskEnv): Promise<{ [key: string]: Json }> {
  const written = redactedEnv(env) as unknown as Json;
  if ("image" in env) return { env: written };
  if ("dockerfile" in env) {
    const dir = isAbsolute(env.dockerfile) ? env.dockerfile : join(project.root, env.dockerfile);
    try {
      return { env: written, context: contextDigest(dir, "") };
    } catch (e) {
      return { env: written, error: `the Dockerfile folder ${env.dockerfile} cannot be read: ${(e as Error).message}` };
    }
  }
  const recipe = env.recipe ?? subagent.sandbox.recipe;
  const found = locateRecipe(recipe, project.root);
  if (!found) return { env: written, error: `unknown recipe "${recipe}" for ${redactUrl(env.repo)}` };
  const commit = await resolveCommit(project.root, env.repo, env.commit, repoCacheDir(project.store));
  if (!commit.ok) return { env: written, error: commit.error };
  // The recipe the repository builds on, by content (the subagent's own is in the stage's key too).
  return { env: written, commit: commit.value, recipe: contextDigest(found.dir, subagent.sandbox.base_image) };
}

export interface EnvHooks {
  log?: (line: string) => void;
  progress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Builds (or finds) the image of one environment for a subagent's sandbox. */
export async function environmentImage(project: ProjectConfig, subagent: SandboxOwner, id: string, env: TaskEnv, commit: string | undefined, hooks: EnvHooks): Promise<SandboxImage> {
  const { buildEnvImage } = await import("../sandbox/env-image.js");
  const { limitsFromConfig } = await import("../sandbox/limits.js");
  const { SandboxError } = await import("../sandbox/types.js");
  return buildEnvImage({
    id,
    env,
    ...(commit ? { commit } : {}),
    projectRoot: project.root,
    recipe: subagent.sandbox.recipe,
    baseImage: subagent.sandbox.base_image,
    limits: limitsFromConfig(subagent.sandbox),
    async checkout(repo, sha) {
      const tree = await checkoutTree(project.root, repo, sha, repoCacheDir(project.store));
      if (!tree.ok) throw new SandboxError(`environment ${id}: ${tree.error}`);
      return tree.value;
    },
    ...hooks,
  });
}
