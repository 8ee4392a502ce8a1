import * as z from "zod";
import type { SandboxImage } from "../sandbox/types.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";

/** `image.json` (sandbox): the built image every rollout's container starts from, and its limits. */
export const sandboxImageSchema = z.looseObject({
  recipe: z.string().min(1),
  id: z.string().min(1),
  tag: z.string().min(1),
  contextDigest: z.string(),
  baseImage: z.string(),
  workdir: z.string().min(1),
  user: z.string().min(1),
  tools: z.array(z.string()),
  limits: z.looseObject({
    memoryBytes: z.number(),
    cpus: z.number(),
    pids: z.number(),
    network: z.enum(["none", "bridge"]),
    commandTimeoutMs: z.number(),
    outputLimitBytes: z.number(),
  }),
});
export type SandboxImageMirrors = Assert<Mirrors<typeof sandboxImageSchema, SandboxImage>>;

export function readSandboxImage(sandboxDir: string): Promise<ArtifactResult<SandboxImage>> {
  return readJsonArtifact(sandboxDir, "image.json", sandboxImageSchema);
}
