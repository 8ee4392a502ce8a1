import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { BuiltEnvironment } from "../artifacts/image.js";
import { ensureImage } from "../sandbox/index.js";
import type { SandboxImage } from "../sandbox/types.js";

export interface EnvironmentImageOptions {
  project: ProjectConfig;
  /** Whose sandbox settings the environments build on (a subagent, or a benchmark). */
  subagent: { sandbox: ResolvedSubagent["sandbox"] };
  log(line: string): void;
  signal?: AbortSignal;
}

/**
 * The images of the environments a sandbox stage recorded, each looked up (or built again from
 * its image.json, when the engine lost it) once, on first use: rollouts and `tasks check` open
 * containers on them, and a run that opens none touches no Docker.
 */
export function environmentImages(envs: Map<string, BuiltEnvironment>, o: EnvironmentImageOptions): (env: string) => Promise<SandboxImage> {
  const images = new Map<string, Promise<SandboxImage>>();
  return (env) => {
    let image = images.get(env);
    if (!image) {
      const built = envs.get(env);
      if (!built) return Promise.reject(new Error(`no environment ${env} in the sandbox stage's output (built: ${[...envs.keys()].join(", ") || "none"})`));
      image = ensureImage(built.image, { projectRoot: o.project.root, log: o.log, ...(o.signal ? { signal: o.signal } : {}), rebuildEnv: (img) => rebuildEnvironment(o, img) });
      images.set(env, image);
    }
    return image;
  };
}

/** A task environment's image gone from the engine (or recorded on another machine): built again from what image.json recorded. */
async function rebuildEnvironment(o: EnvironmentImageOptions, image: SandboxImage): Promise<SandboxImage> {
  const { environmentImage } = await import("./build.js");
  const env = image.env!;
  return environmentImage(o.project, o.subagent, env.id, env.spec, env.commit, { log: o.log, ...(o.signal ? { signal: o.signal } : {}) });
}
