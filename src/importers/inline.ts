import type { Imported } from "./agent.js";
import type { InlineSource } from "./sources.js";
import { normalizeTools } from "./tools.js";
import type { ImportWarning, SubagentSpec } from "./types.js";

/** Inline subagents live in subagents.yaml itself; the config loader has already checked their shape. */
const CONFIG_FILE = "subagents.yaml";

export function importInline(inline: InlineSource, fallbackName: string): Imported {
  const warnings: ImportWarning[] = [];
  const tools = normalizeTools({ file: CONFIG_FILE, allowed: inline.tools, allowedLine: 0, disallowed: undefined, disallowedLine: 0 });
  const description = inline.description.trim();
  if (description === "") warnings.push({ file: CONFIG_FILE, line: 0, message: `inline subagent "${fallbackName}" has no description` });
  // The prompt is the body, so it is left out of what stands in for the frontmatter.
  const { prompt, ...frontmatter } = inline;
  const spec: SubagentSpec = {
    name: inline.name?.trim() || fallbackName,
    description,
    prompt: prompt.trim(),
    tools: tools.tools,
    ...(inline.model === undefined ? {} : { model: inline.model }),
    ...(inline.max_turns === undefined ? {} : { maxTurns: inline.max_turns }),
    skills: [],
    bundle: [],
    provenance: { path: "", format: "inline", frontmatter, parse: "none" },
  };
  return { spec, warnings: [...warnings, ...tools.warnings] };
}
