import * as z from "zod";
import { nonEmpty, relativePath } from "./fields.js";

/**
 * `libraries:` in subagents.yaml: collections of agents and skills to search and pick from
 * (see docs/libraries.md). A git library is pinned to a commit so the project stays
 * reproducible: `sabuild library update` moves the pin, nothing else does.
 */

export const LIBRARY_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const localLibrary = z.strictObject({
  path: relativePath().describe("A folder, relative to the project directory (it may lie outside it)."),
});

const gitLibrary = z.strictObject({
  git: nonEmpty("a git URL or path").describe("Cloned into the store with the host's git."),
  commit: z.string().regex(/^[0-9a-f]{40}$/, { error: "a full 40-hex commit id" }).describe("The pinned commit; `sabuild library update` moves it."),
  ref: nonEmpty().optional().describe("The branch or tag `library update` follows (the repository's default branch when unset)."),
});

export const librarySchema = z.union([localLibrary, gitLibrary], { error: "{path: <folder>} or {git: <url>, commit: <sha>}" });

export const librariesSchema = z
  .record(z.string().regex(LIBRARY_NAME, { error: 'lowercase letters, digits, "-" and "_"' }), librarySchema)
  .default({})
  .describe("Skill and subagent libraries to search (`sabuild search`) and add from (`sabuild add <library>/<name>`).");

export type LibraryConfig = z.output<typeof librarySchema>;
export type ResolvedLibrary = LibraryConfig & { name: string };
