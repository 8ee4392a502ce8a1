import type { ProjectConfig } from "../config/index.js";
import { ok, type Result } from "../result.js";
import { listFiles, type WorkspaceListing } from "../tasks/workspace.js";
import { checkoutTree, redactUrl, resolveCommit } from "./git.js";
import type { RepoEnv } from "./types.js";

/**
 * The files of a repository at its commit, for the teacher writing tasks per repository: read
 * from the tree checkoutTree caches on the host, so listing needs no Docker and no image.
 */
export async function repoWorkspaceListing(project: ProjectConfig, env: RepoEnv, cacheDir: string): Promise<Result<WorkspaceListing, string>> {
  const sha = await resolveCommit(project.root, env.repo, env.commit, cacheDir);
  if (!sha.ok) return sha;
  const tree = await checkoutTree(project.root, env.repo, sha.value, cacheDir);
  if (!tree.ok) return tree;
  return ok({ source: `${redactUrl(env.repo)}@${sha.value.slice(0, 12)}`, files: await listFiles(tree.value) });
}
