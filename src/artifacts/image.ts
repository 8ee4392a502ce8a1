import { existsSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { DEFAULT_ENV_ID } from "../envs/types.js";
import { ok } from "../result.js";
import { taskEnvSchema } from "../envs/types.js";
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
  env: z.strictObject({ id: z.string().min(1), spec: taskEnvSchema, commit: z.string().optional() }).optional(),
});
export type SandboxImageMirrors = Assert<Mirrors<typeof sandboxImageSchema, SandboxImage>>;

export function readSandboxImage(sandboxDir: string): Promise<ArtifactResult<SandboxImage>> {
  return readJsonArtifact(sandboxDir, "image.json", sandboxImageSchema);
}

/** One environment of the sandbox stage: its image and the digest of its item's output (traces key on it). */
export interface BuiltEnvironment {
  image: SandboxImage;
  digest: string;
}

const envIndexSchema = z.looseObject({ items: z.array(z.looseObject({ id: z.string().min(1), output: z.string().min(1) })) });

/**
 * Every environment the sandbox stage built, by id: items/<id>/image.json of its map output. A
 * plugin's sandbox stage that writes one image.json stands for the default environment, keyed
 * by the stage's own digest.
 */
export async function readEnvironments(sandboxDir: string, stageDigest: string): Promise<ArtifactResult<Map<string, BuiltEnvironment>>> {
  const envs = new Map<string, BuiltEnvironment>();
  if (!existsSync(join(sandboxDir, "index.json"))) {
    const single = await readSandboxImage(sandboxDir);
    if (!single.ok) return single;
    envs.set(DEFAULT_ENV_ID, { image: single.value, digest: stageDigest });
    return ok(envs);
  }
  const index = await readJsonArtifact(sandboxDir, "index.json", envIndexSchema);
  if (!index.ok) return index;
  for (const item of index.value.items) {
    const image = await readJsonArtifact(join(sandboxDir, "items", item.id), "image.json", sandboxImageSchema);
    if (!image.ok) return { ok: false, error: { ...image.error, file: `items/${item.id}/${image.error.file}` } };
    envs.set(item.id, { image: image.value, digest: item.output });
  }
  return ok(envs);
}
