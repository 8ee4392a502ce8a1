import * as z from "zod";
import type { SubagentSpec } from "../importers/types.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";

/** `spec.json` (import): the subagent as every importer normalizes it. */
export const specSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string(),
  prompt: z.string(),
  tools: z.looseObject({
    all: z.boolean(),
    allowed: z.array(z.string()),
    disallowed: z.array(z.string()),
    mcp: z.array(z.string()),
    patterns: z.record(z.string(), z.array(z.string())),
  }),
  model: z.string().optional(),
  maxTurns: z.number().optional(),
  skills: z.array(z.string()).default([]),
  mcpServers: z.unknown().optional(),
  bundle: z.array(z.looseObject({ path: z.string().min(1), digest: z.string(), size: z.number().int().min(0) })).default([]),
  provenance: z.looseObject({
    path: z.string(),
    format: z.enum(["claude-agent", "skill", "plugin-agent", "plugin-skill", "inline"]),
    frontmatter: z.record(z.string(), z.unknown()).default({}),
    parse: z.enum(["strict", "lenient", "none"]),
    plugin: z.string().optional(),
  }),
});
export type SpecMirrors = Assert<Mirrors<typeof specSchema, SubagentSpec>>;

export function readSpec(importDir: string): Promise<ArtifactResult<SubagentSpec>> {
  return readJsonArtifact(importDir, "spec.json", specSchema);
}
