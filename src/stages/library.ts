import { resolve } from "node:path";
import type { ProjectConfig } from "../config/index.js";
import type { ResolvedLibrary } from "../config/library-schema.js";
import { isDirectory, relPath, walkFiles } from "../importers/files.js";
import { candidateFile, enterFolder } from "../libraries/walk.js";
import { BM25 } from "../libraries/ranker.js";
import { err, ok } from "../result.js";
import { configName } from "./config-name.js";
import type { ProjectStage } from "./types.js";

/**
 * A project with libraries gets one `library/<name>:index` node per library (every agent and
 * skill found in it, index.json) and one `search/libraries:bm25` node over all of them (the
 * ranker's serialized index). Each library's node is keyed by its pinned commit (or, for a
 * local folder, its files), so `library update` re-indexes that library alone; the search
 * node then re-ranks over the new entries, which is cheap next to reading the files.
 */
export function libraryStages(project: ProjectConfig): ProjectStage[] {
  return [...project.libraries.map(indexStage), searchStage()];
}

export const libraryNode = (name: string): string => `library/${name}:index`;
export const SEARCH_SCOPE = "search/libraries";
/** The node `sabuild search` reads: the ranker's index over every library. */
export const SEARCH_NODE = `${SEARCH_SCOPE}:${BM25.name}`;

function indexStage(lib: ResolvedLibrary): ProjectStage {
  return {
    scope: `library/${lib.name}`,
    kind: "index",
    version: "1",
    deps: () => ({}),
    async inputs({ project }) {
      // A git library's commit pins every file: nothing to hash, and nothing to fetch to plan.
      if ("git" in lib) return ok({ params: { library: lib.name, commit: lib.commit }, files: [] });
      const dir = resolve(project.root, lib.path);
      if (!(await isDirectory(dir))) {
        return err([{ file: configName(project), line: 0, column: 0, keyPath: ["libraries", lib.name, "path"], message: `library folder not found: ${lib.path}`, hint: "point path at an existing folder, or `sabuild library remove` it" }]);
      }
      const files = await walkFiles(dir, enterFolder, candidateFile);
      // The entries' library and ids carry the name; a local folder has no commit.
      return ok({ params: { library: lib.name, commit: null }, files: files.map((f) => relPath(project.root, f)) });
    },
    async run(ctx) {
      await (await import("../libraries/index-run.js")).writeLibraryIndex(ctx, lib);
    },
  };
}

function searchStage(): ProjectStage {
  return {
    scope: SEARCH_SCOPE,
    kind: BM25.name,
    version: "1",
    deps: (project) => Object.fromEntries(project.libraries.map((l) => [l.name, libraryNode(l.name)])),
    async inputs() {
      // Fields, weights and analysis are the ranker's code: its version and the stage's.
      return ok({ params: { ranker: BM25.name }, files: [], toolchain: { ranker: `${BM25.name}@${BM25.version}` } });
    },
    async run(ctx) {
      await (await import("../libraries/index-run.js")).writeSearchIndex(ctx);
    },
  };
}
