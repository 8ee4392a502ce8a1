import { resolve } from "node:path";
import type { ProjectConfig, SubagentSource } from "../config/index.js";
import type { ResolvedLibrary } from "../config/library-schema.js";
import type { SourceRef } from "../importers/sources.js";
import { findLibrary } from "./root.js";

/** A subagent's source split into the library it is taken from (if any) and the path inside it. */
export function splitSource(project: ProjectConfig, source: SubagentSource): { library?: ResolvedLibrary; source: SourceRef } {
  if (!("library" in source) || source.library === undefined) return { source };
  const { library, ...inside } = source;
  const lib = findLibrary(project, library);
  // The config loader rejects an unknown library, so a miss here is a bug.
  if (!lib) throw new Error(`bug: subagent source names unknown library ${library}`);
  return { library: lib, source: inside as SourceRef };
}

/** A local library's folder; a git library's files are reached through libraryRoot (they may need extracting). */
export const localLibraryRoot = (project: ProjectConfig, lib: ResolvedLibrary & { path: string }): string => resolve(project.root, lib.path);
