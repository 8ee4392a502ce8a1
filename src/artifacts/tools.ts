import * as z from "zod";
import type { FunctionToolDef, ImportedTools } from "../tools/types.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";

/** An OpenAI function tool, as tools.json and every trace record it. */
export const functionToolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({ name: z.string().min(1), description: z.string().default(""), parameters: z.record(z.string(), z.unknown()) }),
});
export type FunctionToolMirrors = Assert<Mirrors<typeof functionToolSchema, FunctionToolDef>>;

/** `tools.json` (import): the tools the subagent gets, resolved against sabuild's implementations. */
export const importedToolsSchema = z.looseObject({
  version: z.string(),
  resolved: z.array(z.string().min(1)),
  dropped: z.array(z.string()).default([]),
  definitions: z.array(functionToolSchema),
  mcp: z
    .array(
      z.looseObject({
        server: z.string().min(1),
        tools: z.array(z.looseObject({ name: z.string().min(1), tool: z.string().min(1) })),
        runs: z.enum(["sandbox", "host", "http"]).default("host"),
        all: z.boolean().optional(),
        declared: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .default([]),
});
export type ImportedToolsMirrors = Assert<Mirrors<typeof importedToolsSchema, ImportedTools>>;

export function readImportedTools(importDir: string): Promise<ArtifactResult<ImportedTools>> {
  return readJsonArtifact(importDir, "tools.json", importedToolsSchema);
}
