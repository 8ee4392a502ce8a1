import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { canonicalJson, sha256 } from "../engine/key.js";
import type { EnvLimits, TaskEnv } from "../envs/types.js";
import { dockerClient, engineError, isNotFound } from "./docker.js";
import { buildRecipeImage, buildTaggedImage } from "./image.js";
import { mergeLimits } from "./limits.js";
import { loadRecipe } from "./manifest.js";
import { contextDigest } from "./recipe.js";
import { SandboxError, type SandboxImage, type SandboxLimits } from "./types.js";

/**
 * The image of a task's own environment (src/envs/types.ts), beside the recipe images of
 * image.ts: a named image (found or pulled), a repository at a commit on a recipe (the recipe's
 * image is the base, the tree at the commit replaces its workspace, setup runs at build), or a
 * folder with a Dockerfile. Each is tagged by the digest of what it is built from, so a second
 * build, or another subagent with the same environment, finds it.
 */
export interface EnvImageRequest {
  id: string;
  env: TaskEnv;
  /** The full sha a repository environment's commit resolved to. */
  commit?: string;
  projectRoot: string;
  /** The subagent's sandbox: the recipe of a repository environment that names none, and the limits of the others. */
  recipe: string;
  baseImage: string;
  limits: Partial<SandboxLimits>;
  /** Checks the repository's tree out at the commit, on the host; returns its folder. */
  checkout(repo: string, commit: string): Promise<string>;
  log?: (line: string) => void;
  progress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function buildEnvImage(r: EnvImageRequest): Promise<SandboxImage> {
  const record = { id: r.id, spec: r.env, ...(r.commit ? { commit: r.commit } : {}) };
  if ("repo" in r.env) return { ...(await repoImage(r, r.env)), env: record };
  const recipe = await loadRecipe(r.recipe, r.projectRoot).catch((e: Error) => {
    throw new SandboxError(e.message, "recipes live in recipes/<name>/ with a recipe.yaml and a Dockerfile");
  });
  const limits = mergeLimits(mergeLimits(recipe.limits, r.limits), envLimits(r.env.limits));
  const docker = await dockerClient();
  let id: string;
  let tag: string;
  let digest: string;
  let from: string;
  if ("image" in r.env) {
    id = await presentImage(r.env.image, r);
    tag = r.env.image;
    digest = "";
    from = r.env.image;
  } else {
    const dir = isAbsolute(r.env.dockerfile) ? r.env.dockerfile : join(r.projectRoot, r.env.dockerfile);
    digest = contextDigest(dir, "");
    tag = `sabuild/env-${r.id}:${digest.slice(0, 12)}`;
    from = "";
    id = await buildTaggedImage({ dir, name: r.id, what: `environment ${r.id}`, tag, digest, baseImage: "", options: progressOf(r), fixHint: `fix ${dir}/Dockerfile; the last lines of the build log are above` });
  }
  const config = (await docker.getImage(id).inspect().catch((e: unknown) => Promise.reject(engineError(`cannot inspect ${tag}`, e)))).Config;
  return {
    recipe: "image" in r.env ? `image:${r.env.image}` : `dockerfile:${r.env.dockerfile}`,
    id,
    tag,
    contextDigest: digest,
    baseImage: from,
    // The image's own workspace and user: a SWE-bench image works in /testbed as root.
    workdir: ("image" in r.env ? r.env.workdir : undefined) ?? (config?.WorkingDir || "/"),
    user: config?.User || "root",
    tools: recipe.tools,
    limits,
    env: record,
  };
}

/** The repository's tree on its recipe's image, committed once so `git diff` shows the agent's changes. */
async function repoImage(r: EnvImageRequest, env: Extract<TaskEnv, { repo: string }>): Promise<SandboxImage> {
  if (!r.commit) throw new SandboxError(`environment ${r.id}: the commit ${env.commit} of ${env.repo} was not resolved`);
  const base = await buildRecipeImage({ recipe: env.recipe ?? r.recipe, projectRoot: r.projectRoot, baseImage: r.baseImage, limits: r.limits, ...(r.log ? { log: r.log } : {}), ...(r.signal ? { signal: r.signal } : {}) });
  const setup = env.setup ?? [];
  const digest = sha256(canonicalJson({ base: base.contextDigest, commit: r.commit, setup, workdir: base.workdir, user: base.user }));
  const tag = `sabuild/env-${r.id}:${digest.slice(0, 12)}`;
  const tree = await r.checkout(env.repo, r.commit);
  const dir = await mkdtemp(join(tmpdir(), "sabuild-env-"));
  try {
    await cp(tree, join(dir, "repo"), { recursive: true, verbatimSymlinks: true });
    await writeFile(join(dir, "Dockerfile"), repoDockerfile(base, r.commit, setup));
    const id = await buildTaggedImage({ dir, name: r.id, what: `environment ${r.id}`, tag, digest, baseImage: base.tag, options: progressOf(r), fixHint: setup.length ? `check the setup commands of ${env.repo}; the last lines of the build log are above` : undefined });
    return { ...base, id, tag, contextDigest: digest, baseImage: base.tag, limits: mergeLimits(base.limits, envLimits(env.limits)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function repoDockerfile(base: SandboxImage, commit: string, setup: string[]): string {
  const owner = base.user === "root" ? "" : ` --chown=${base.user}:${base.user}`;
  const lines = [
    "ARG BASE_IMAGE",
    "FROM ${BASE_IMAGE}",
    "USER root",
    `RUN rm -rf ${base.workdir} && mkdir -p ${base.workdir}${owner ? ` && chown ${base.user}:${base.user} ${base.workdir}` : ""}`,
    `COPY${owner} repo/ ${base.workdir}/`,
    `USER ${base.user}`,
    `WORKDIR ${base.workdir}`,
    // A fixed author and date: the same tree gives the same commit, and `git diff` shows only the agent's edits.
    `RUN if command -v git >/dev/null; then git init -q -b main . && git -c user.name=sabuild -c user.email=sabuild@localhost add -A && GIT_AUTHOR_DATE="2024-01-01T00:00:00 +0000" GIT_COMMITTER_DATE="2024-01-01T00:00:00 +0000" git -c user.name=sabuild -c user.email=sabuild@localhost commit -q --allow-empty -m "at ${commit.slice(0, 12)}"; fi`,
    ...setup.map((command) => `RUN ${command}`),
  ];
  return `${lines.join("\n")}\n`;
}

/** A named image: in the engine already, or pulled (a registry the engine can reach). */
async function presentImage(name: string, r: EnvImageRequest): Promise<string> {
  const docker = await dockerClient();
  try {
    return (await docker.getImage(name).inspect()).Id;
  } catch (e) {
    if (!isNotFound(e)) throw engineError(`cannot inspect the image ${name}`, e);
  }
  r.log?.(`image ${name} is not in the engine: pulling it`);
  try {
    const stream = await docker.pull(name);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve())));
    return (await docker.getImage(name).inspect()).Id;
  } catch (e) {
    throw new SandboxError(`environment ${r.id}: the image ${name} is not in the engine and could not be pulled: ${(e as Error).message}`, `pull or load it (docker pull ${name}, or docker load), or fix the task's env.image`);
  }
}

function envLimits(l: EnvLimits | undefined): Partial<SandboxLimits> {
  const out: Partial<SandboxLimits> = {};
  if (l?.cpus !== undefined) out.cpus = l.cpus;
  if (l?.memory_mb !== undefined) out.memoryBytes = l.memory_mb * 1024 * 1024;
  if (l?.network !== undefined) out.network = l.network;
  return out;
}

function progressOf(r: EnvImageRequest): { log?: (line: string) => void; progress?: (done: number, total: number) => void; signal?: AbortSignal } {
  return { ...(r.log ? { log: r.log } : {}), ...(r.progress ? { progress: r.progress } : {}), ...(r.signal ? { signal: r.signal } : {}) };
}
