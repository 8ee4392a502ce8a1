import type { SourceFormat } from "./types.js";

/** An inline subagent written directly in subagents.yaml. */
export interface InlineSource {
  name?: string;
  description: string;
  prompt: string;
  tools?: string[] | string;
  model?: string;
  max_turns?: number;
}

/**
 * Where a subagent comes from, as written under `source:` in subagents.yaml. Paths are relative
 * to the project root: an agent .md file, a skill directory (or its SKILL.md), a plugin root.
 */
export type SourceRef =
  | { agent: string }
  | { skill: string }
  | { plugin: string; name?: string }
  | { inline: InlineSource };

/** A source found by `sabuild init`. */
export interface DiscoveredSource {
  /** The subagent's own name (frontmatter `name`, else the file or directory name). */
  name: string;
  source: SourceRef;
  format: SourceFormat;
  /** The agent .md or SKILL.md file, relative to the root. */
  path: string;
}
