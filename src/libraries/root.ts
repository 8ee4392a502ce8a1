import { resolve } from "node:path";
import type { ProjectConfig } from "../config/index.js";
import type { ResolvedLibrary } from "../config/library-schema.js";
import { err, ok, type Result } from "../result.js";

/** The commit a library is pinned at; null for a local folder (its files are keyed instead). */
export const commitOf = (lib: ResolvedLibrary): string | null => ("git" in lib ? lib.commit : null);

/** A URL (`https://`, `ssh://`, `file://`...) or an scp-style `user@host:path`, rather than a local path. */
export const isRemote = (where: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(where) || /^[^/]+@[^/]+:/.test(where);

/** A git library's URL as git needs it: a local path is taken relative to the project, as every path in subagents.yaml is. */
export function gitUrl(project: Pick<ProjectConfig, "root">, url: string): string {
  return isRemote(url) ? url : resolve(project.root, url);
}

/** The folder a library's paths are relative to: the local folder, or the pinned commit's tree in the store (extracted when missing). */
export async function libraryRoot(project: ProjectConfig, lib: ResolvedLibrary): Promise<Result<string, string>> {
  if ("path" in lib) return ok(resolve(project.root, lib.path));
  const { checkout } = await import("./git.js");
  const tree = await checkout(project.store, gitUrl(project, lib.git), lib.commit);
  return tree.ok ? tree : err(`library ${lib.name}: ${tree.error}`);
}

export function findLibrary(project: ProjectConfig, name: string): ResolvedLibrary | undefined {
  return project.libraries.find((l) => l.name === name);
}
