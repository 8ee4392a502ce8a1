/** What a library's index holds: every agent and skill found in it, and what could not be read. */

export type EntryKind = "agent" | "skill";

/** Where an entry's import reads it from, relative to the library's folder (a subagent's `source:` less `library`). */
export type EntrySource = { agent: string } | { skill: string } | { plugin: string; name: string };

export interface LibraryEntry {
  /** `<library>/<name>`, or `<library>/<plugin>/<name>` when a name is taken twice in the library. */
  id: string;
  name: string;
  kind: EntryKind;
  description: string;
  /** Canonical tool names; empty with `allTools` when the source names none (it inherits all). */
  tools: string[];
  allTools: boolean;
  /** The system prompt: an agent's Markdown body, a skill's SKILL.md body. */
  body: string;
  /** From the frontmatter, the plugin manifest or the marketplace entry, where the format gives them. */
  category?: string;
  keywords: string[];
  license?: string;
  plugin?: string;
  library: string;
  /** The agent .md or SKILL.md, relative to the library's folder. */
  path: string;
  /** The pinned commit of a git library; null for a local folder. */
  commit: string | null;
  source: EntrySource;
}

/** A file that could not be read; the rest of the library still indexes. */
export interface IndexWarning {
  file: string;
  message: string;
}

/** A marketplace plugin whose source is not in the library (a git repository, a URL). */
export interface UnresolvedPlugin {
  marketplace: string;
  plugin: string;
  source: string;
  why: string;
}

/** index.json, the output of `library/<name>:index`. */
export interface LibraryIndex {
  library: string;
  commit: string | null;
  entries: LibraryEntry[];
  warnings: IndexWarning[];
  unresolved: UnresolvedPlugin[];
}

export const LIBRARY_INDEX_FILE = "index.json";
