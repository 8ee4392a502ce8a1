import { isAbsolute } from "node:path";
import * as z from "zod";
import { readJsonArtifact, type ArtifactResult } from "./read.js";

/**
 * `export.json` (export): which GGUF ships (eval and serve run it), and for the report what else
 * was written and how the fidelity check went, which a plugin's export stage may leave out.
 */
export const exportSummarySchema = z.looseObject({
  base_model: z.string().optional(),
  gguf_outtype: z.string().min(1),
  /** The GGUF people run, relative to the export output. */
  shipped: z.string().min(1).refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes(".."), "expected a path inside the export output"),
  files: z.array(z.looseObject({ path: z.string().min(1), bytes: z.number().int().min(0) })).default([]),
  fidelity: z.string().optional(),
  timings_ms: z.record(z.string(), z.number()).optional(),
});
export type ExportSummary = z.output<typeof exportSummarySchema>;

export function readExportSummary(exportDir: string): Promise<ArtifactResult<ExportSummary>> {
  return readJsonArtifact(exportDir, "export.json", exportSummarySchema);
}
