import * as z from "zod";
import type { CostQualityCurve } from "../route/curve.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";

const end = z.looseObject({ success: z.number(), cost_per_task_usd: z.number() });

/** `curve.json` (router): the learned router's cost-quality curve over eval's tasks. */
export const curveSchema = z.looseObject({
  tasks: z.number().int().min(0),
  student: end,
  teacher: end,
  points: z.array(
    z.looseObject({
      threshold: z.number(),
      escalated: z.number(),
      success: z.number(),
      cost_per_task_usd: z.number(),
      main_agent_tokens: z.number().nullable(),
    }),
  ),
  main_agent_tokens_source: z
    .looseObject({ benchmarks: z.array(z.string()), tasks: z.number().int().min(0), student: z.number(), teacher: z.number(), none: z.number().nullable() })
    .nullable(),
  main_agent_tokens_missing: z.string().optional(),
  apgr: z.number().nullable(),
  cpt50: z.number().nullable(),
  cpt80: z.number().nullable(),
});
export type CurveMirrors = Assert<Mirrors<typeof curveSchema, CostQualityCurve>>;

export function readCurve(routerDir: string): Promise<ArtifactResult<z.output<typeof curveSchema>>> {
  return readJsonArtifact(routerDir, "curve.json", curveSchema);
}
