import * as z from "zod";
import { readJsonArtifact, type ArtifactResult } from "./read.js";

/** `index.json` of a map stage's output (the engine writes it): its items, in order. */
export const itemIndexSchema = z.looseObject({ items: z.array(z.looseObject({ id: z.string().min(1) })) });

/** The item ids of a map stage's output (items/<id>/...), in the stage's order. */
export async function readItemIds(stageDir: string): Promise<ArtifactResult<string[]>> {
  const index = await readJsonArtifact(stageDir, "index.json", itemIndexSchema);
  return index.ok ? { ok: true, value: index.value.items.map((i) => i.id) } : index;
}
