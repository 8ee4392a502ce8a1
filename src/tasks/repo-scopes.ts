import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Json } from "../engine/key.js";
import { repoCacheDir, redactUrl, resolveCommit } from "../envs/git.js";
import { redactedEnv } from "../envs/identity.js";
import type { RepoEnv } from "../envs/types.js";
import { repoWorkspaceListing } from "../envs/workspace.js";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { configName } from "../stages/config-name.js";
import type { RunContext } from "../stages/types.js";
import { generationParams } from "./params.js";
import { REPOS_LISTING, spreadOverRepos } from "./per-repo.js";
import type { TaskScope } from "./teacher-tasks.js";

/**
 * What generation reads, for the key: the teacher's settings and, with sandbox.repos, each
 * repository as written (credentials redacted) at the commit it names now, so a moved tag or
 * branch makes the tasks stale. Its files follow from the commit, so they stay out.
 */
export async function repoGenerationInput(project: ProjectConfig, subagent: ResolvedSubagent, repos: RepoEnv[]): Promise<Result<Json, Problem[]>> {
  const cache = repoCacheDir(project.store);
  const resolved: Json[] = [];
  const problems: Problem[] = [];
  for (const [i, env] of repos.entries()) {
    const sha = await resolveCommit(project.root, env.repo, env.commit, cache);
    if (sha.ok) resolved.push({ env: redactedEnv(env) as unknown as Json, sha: sha.value });
    else problems.push({ file: configName(project), line: 0, column: 0, keyPath: ["subagents", subagent.name, "sandbox", "repos", i], message: sha.error, hint: "the teacher writes tasks from the repository's files at that commit" });
  }
  if (problems.length) return err(problems);
  return ok({ ...(generationParams(subagent, REPOS_LISTING) as unknown as { [k: string]: Json }), per_repo: subagent.tasks.per_repo ?? null, repos: resolved });
}

/** Each repository of sandbox.repos with its share of the tasks and its files at the commit. */
export async function repoScopes(ctx: RunContext, repos: RepoEnv[], missing: number): Promise<TaskScope[]> {
  const cache = repoCacheDir(ctx.project.store);
  const scopes: TaskScope[] = [];
  for (const quota of spreadOverRepos(repos, missing, ctx.subagent.tasks.per_repo)) {
    const listing = await repoWorkspaceListing(ctx.project, quota.env, cache);
    if (!listing.ok) throw new Error(`cannot read ${redactUrl(quota.env.repo)} to write tasks for it: ${listing.error}`);
    scopes.push({ needed: quota.count, files: listing.value.files, env: quota.env, label: listing.value.source });
  }
  return scopes;
}
