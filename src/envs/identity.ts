import { canonicalJson, sha256 } from "../engine/key.js";
import { redactUrl, repoSlug } from "./git.js";
import { DEFAULT_ENV_ID, type TaskEnv } from "./types.js";

/**
 * The id of a task's environment: the sandbox stage's item id, the traces item's pointer to its
 * image, the image's tag. Derived from the environment as written, so every stage that reads a
 * task computes it without IO, and two tasks (or subagents) naming the same environment share
 * it; what the environment resolves to (a tag's commit, a recipe's files) is in the item's key.
 */
export function envId(env: TaskEnv | undefined): string {
  if (!env) return DEFAULT_ENV_ID;
  const named = redactedEnv(env);
  return `${envSlug(named)}-${sha256(canonicalJson(named)).slice(0, 12)}`;
}

/** The environment as written, less the credentials a repository URL may carry: they never reach an id, a tag or a key. */
export function redactedEnv(env: TaskEnv): TaskEnv {
  return "repo" in env ? { ...env, repo: redactUrl(env.repo) } : env;
}

/** A readable name: the image's, the repository's or the Dockerfile folder's. */
function envSlug(env: TaskEnv): string {
  let name: string;
  if ("image" in env) name = env.image.replace(/[@:].*$/, "").split("/").pop() ?? "";
  else if ("repo" in env) name = repoSlug(env.repo);
  else {
    const parts = env.dockerfile.replace(/[/\\]+$/, "").split(/[/\\]/);
    // Harbor's tasks keep theirs in <task>/environment: the task's name says more.
    name = (parts.at(-1) === "environment" && parts.length > 1 ? parts.at(-2) : parts.at(-1)) ?? "";
  }
  const slug = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[^a-z0-9]+/, "").slice(0, 40);
  return slug || "env";
}
