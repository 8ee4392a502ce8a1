import type { RepoEnv } from "../envs/types.js";

/**
 * How teacher-written tasks spread over the repositories of `sandbox.repos`: `tasks.per_repo`
 * each when it is set, else the tasks missing from `tasks.count` split evenly, the first
 * repositories taking the remainder (so the split depends only on the list's order).
 */

export interface RepoQuota {
  env: RepoEnv;
  count: number;
}

export function spreadOverRepos(repos: readonly RepoEnv[], missing: number, perRepo: number | undefined): RepoQuota[] {
  if (perRepo !== undefined) return repos.map((env) => ({ env, count: perRepo }));
  const each = Math.floor(missing / Math.max(repos.length, 1));
  const extra = missing - each * repos.length;
  return repos.map((env, i) => ({ env, count: each + (i < extra ? 1 : 0) })).filter((q) => q.count > 0);
}

/** Where per-repository generation stands for the recipe's workspace: each repository shows its own files. */
export const REPOS_LISTING = { source: "sandbox.repos", files: [] as string[] };
