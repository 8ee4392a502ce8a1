/** The normalized form every importer produces: what the pipeline needs to know about a subagent. */
export type SourceFormat = "claude-agent" | "skill" | "plugin-agent" | "plugin-skill" | "inline";

export interface BundledFile {
  /** Path relative to the skill directory, with forward slashes. */
  path: string;
  /** sha256 hex of the content. */
  digest: string;
  size: number;
}

export interface Provenance {
  /** Path of the source file (agent .md or SKILL.md), relative to the project root; "" for inline. */
  path: string;
  format: SourceFormat;
  /** The frontmatter exactly as read (strict YAML or lenient fallback), before normalization. */
  frontmatter: Record<string, unknown>;
  /** How the frontmatter was read: strict YAML, or the lenient line-based fallback. */
  parse: "strict" | "lenient" | "none";
  /** For plugin imports: the plugin's name from .claude-plugin/plugin.json. */
  plugin?: string;
}

export interface ToolSet {
  /** True when the source names no tools: the subagent inherits all tools. */
  all: boolean;
  /** Canonical tool names after aliasing (Task -> Agent) and after removing disallowed ones. */
  allowed: string[];
  /** Canonical names of disallowed tools (applied first). */
  disallowed: string[];
  /** `mcp__server__tool` names kept verbatim; these need an MCP provider. */
  mcp: string[];
  /** Tool patterns such as `Bash(git:*)` keep their argument filter here, keyed by canonical tool. */
  patterns: Record<string, string[]>;
}

export interface SubagentSpec {
  name: string;
  description: string;
  /** The system prompt: the Markdown body of an agent, or the SKILL.md body. */
  prompt: string;
  tools: ToolSet;
  model?: string;
  maxTurns?: number;
  skills: string[];
  /** Raw mcpServers value from the frontmatter, if any. */
  mcpServers?: unknown;
  /** Skill bundle: every file beside SKILL.md (scripts/, references/, assets/, ...), sorted by path. */
  bundle: BundledFile[];
  provenance: Provenance;
}

/** A non-fatal finding while importing (lenient parse, spec violation, MCP tool). */
export interface ImportWarning {
  file: string;
  line: number;
  message: string;
}
