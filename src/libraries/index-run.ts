import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedLibrary } from "../config/library-schema.js";
import type { RunHooks } from "../engine/types.js";
import { UserInputError } from "../errors.js";
import type { ProjectContext } from "../stages/types.js";
import { bm25Ranker } from "./bm25.js";
import { commitOf, libraryRoot } from "./root.js";
import { scanLibrary } from "./scan.js";
import { LIBRARY_INDEX_FILE, type LibraryIndex } from "./types.js";

export const RANKER_FILE = "ranker.json";

/** `library/<name>:index`: reads the library's folder (or its pinned commit) into index.json. */
export async function writeLibraryIndex(ctx: ProjectContext & RunHooks, lib: ResolvedLibrary): Promise<void> {
  const root = await libraryRoot(ctx.project, lib);
  if (!root.ok) throw new UserInputError(root.error);
  const index = await scanLibrary(lib.name, commitOf(lib), root.value);
  for (const w of index.warnings) ctx.log(`skipped ${w.file}: ${w.message}`, "warn");
  for (const u of index.unresolved) ctx.log(`${u.marketplace}: plugin "${u.plugin}" not indexed: ${u.why} (${u.source})`);
  await writeFile(join(ctx.outDir, LIBRARY_INDEX_FILE), JSON.stringify(index));
  const skills = index.entries.filter((e) => e.kind === "skill").length;
  ctx.log(`${index.entries.length - skills} agents, ${skills} skills${index.warnings.length ? `, ${index.warnings.length} files skipped` : ""}`);
}

/** `search/libraries:bm25`: the ranker's index over every library's entries. */
export async function writeSearchIndex(ctx: ProjectContext & RunHooks): Promise<void> {
  const entries = [];
  for (const lib of ctx.project.libraries) entries.push(...(await readLibraryIndex(ctx.upstream[lib.name]!.dir)).entries);
  await writeFile(join(ctx.outDir, RANKER_FILE), bm25Ranker.build(entries));
}

/** The typed reader of index.json. */
export async function readLibraryIndex(dir: string): Promise<LibraryIndex> {
  const data = JSON.parse(await readFile(join(dir, LIBRARY_INDEX_FILE), "utf8")) as Partial<LibraryIndex>;
  if (!Array.isArray(data.entries) || typeof data.library !== "string") throw new Error(`bug: ${join(dir, LIBRARY_INDEX_FILE)} is not a library index`);
  return { library: data.library, commit: data.commit ?? null, entries: data.entries, warnings: data.warnings ?? [], unresolved: data.unresolved ?? [] };
}
