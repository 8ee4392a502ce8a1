import type Docker from "dockerode";
import { create as createTar } from "tar";
import { LABEL_CONTEXT, LABEL_MANAGED, LABEL_RECIPE } from "./cleanup.js";
import { dockerClient, engineError, isNotFound } from "./docker.js";
import { mergeLimits } from "./limits.js";
import { loadRecipe } from "./manifest.js";
import { contextDigest, contextFiles } from "./recipe.js";
import { SandboxError, type SandboxImage, type SandboxLimits } from "./types.js";

export const DEFAULT_BASE_IMAGE = "debian:bookworm-slim";

export interface BuildRecipeOptions {
  recipe: string;
  /** The project whose recipes/ is searched before the recipes shipped with sabuild. */
  projectRoot?: string;
  baseImage?: string;
  /** Overrides of the recipe's limits (subagents.yaml's sandbox section). */
  limits?: Partial<SandboxLimits>;
  log?: (line: string) => void;
  /** Dockerfile steps done of total. */
  progress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Lines of the build log kept for the error message of a failed build. */
const LOG_TAIL = 25;

/** Builds in flight in this process, by tag: two subagents on one recipe share one build. */
const building = new Map<string, Promise<string>>();

/**
 * The recipe's image, built unless an image with the same context digest is already tagged.
 * Tagged sabuild/<recipe>:<digest12> and labelled with the recipe and the full digest.
 */
export async function buildRecipeImage(options: BuildRecipeOptions): Promise<SandboxImage> {
  let recipe;
  try {
    recipe = await loadRecipe(options.recipe, options.projectRoot);
  } catch (e) {
    throw new SandboxError((e as Error).message, `recipes live in recipes/<name>/ with a recipe.yaml and a Dockerfile`);
  }
  const baseImage = options.baseImage ?? DEFAULT_BASE_IMAGE;
  const digest = contextDigest(recipe.dir, baseImage);
  const tag = `sabuild/${recipe.name}:${digest.slice(0, 12)}`;
  const id = await buildTaggedImage({ dir: recipe.dir, name: recipe.name, what: `the ${recipe.name} recipe`, tag, digest, baseImage, options });
  return {
    recipe: recipe.name,
    id,
    tag,
    contextDigest: digest,
    baseImage,
    workdir: recipe.workdir,
    user: recipe.user,
    tools: recipe.tools,
    limits: mergeLimits(recipe.limits, options.limits),
  };
}

export interface EnsureImageOptions {
  projectRoot?: string;
  /** Builds a task environment's image again (image.env set): the caller knows its project and subagent. */
  rebuildEnv?: (image: SandboxImage) => Promise<SandboxImage>;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * The image of a `sandbox` stage result, present in this engine: as recorded, or rebuilt from
 * its recipe when it is gone (docker rmi, or the result came from another machine's cache).
 * A rebuilt image has a new id; the rest of the description is unchanged.
 */
export async function ensureImage(image: SandboxImage, options: EnsureImageOptions = {}): Promise<SandboxImage> {
  const docker = await dockerClient();
  try {
    await docker.getImage(image.id).inspect();
    return image;
  } catch (e) {
    if (!isNotFound(e)) throw engineError(`cannot inspect the sandbox image ${image.tag}`, e);
  }
  const tagged = await taggedImage(docker, image.tag, image.contextDigest);
  if (tagged) return { ...image, id: tagged };
  if (image.env) {
    if (!options.rebuildEnv) throw new SandboxError(`the image ${image.tag} of environment ${image.env.id} is missing from the Docker engine`, "run `sabuild build`: the sandbox stage builds it again");
    options.log?.(`image ${image.tag} is missing from the Docker engine: rebuilding environment ${image.env.id}`);
    const rebuilt = await options.rebuildEnv(image);
    if (rebuilt.contextDigest !== image.contextDigest) throw new SandboxError(`environment ${image.env.id} changed since its image ${image.tag} was recorded`, "run `sabuild build`: the sandbox stage rebuilds the image and the stages that used it");
    return { ...image, id: rebuilt.id };
  }
  options.log?.(`image ${image.tag} is missing from the Docker engine: rebuilding it from the ${image.recipe} recipe`);
  const built = await buildRecipeImage({
    recipe: image.recipe,
    baseImage: image.baseImage,
    ...(options.projectRoot ? { projectRoot: options.projectRoot } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (built.contextDigest !== image.contextDigest) {
    throw new SandboxError(
      `the ${image.recipe} recipe changed since its image ${image.tag} was recorded`,
      "run `sabuild build`: the sandbox stage rebuilds the image and the stages that used it",
    );
  }
  return { ...image, id: built.id };
}

export async function taggedImage(docker: Docker, tag: string, digest: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(tag).inspect();
    return info.Config?.Labels?.[LABEL_CONTEXT] === digest ? info.Id : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw engineError(`cannot inspect the image ${tag}`, e);
  }
}

/** One image build: a context folder, tagged and labelled by the digest of what it is built from. */
export interface BuildJob {
  dir: string;
  /** The recipe (or environment) name recorded in the image's labels. */
  name: string;
  /** What is built, for messages: "the python-repo recipe", "environment taskq-1a2b". */
  what: string;
  tag: string;
  digest: string;
  /** Passed as the BASE_IMAGE build argument (recipes build FROM it). */
  baseImage: string;
  options: Pick<BuildRecipeOptions, "log" | "progress" | "signal">;
  /** Where to point the user when the Dockerfile fails (default: the context's Dockerfile). */
  fixHint?: string;
}

/**
 * The image of a build job: found by tag and digest label, else built, once per process even
 * when several stages ask at the same time (two subagents on one recipe share one build).
 */
export async function buildTaggedImage(job: BuildJob): Promise<string> {
  const docker = await dockerClient();
  const found = await taggedImage(docker, job.tag, job.digest);
  if (found) {
    job.options.log?.(`image ${job.tag} is already built`);
    return found;
  }
  let pending = building.get(job.tag);
  if (!pending) {
    pending = buildImage(docker, job).finally(() => building.delete(job.tag));
    building.set(job.tag, pending);
  }
  return pending;
}

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

async function buildImage(docker: Docker, job: BuildJob): Promise<string> {
  const { options } = job;
  const log = options.log ?? (() => {});
  // A Dockerfile of its own (no BASE_IMAGE) names its base itself: the build reports a missing one.
  const baseMissing = job.baseImage !== "" && await docker
    .getImage(job.baseImage)
    .inspect()
    .then(() => false)
    .catch((e: unknown) => isNotFound(e));
  if (baseMissing) log(`base image ${job.baseImage} is not in the engine: the build will try to pull it`);
  log(`building ${job.tag} from ${job.dir}`);
  const context = createTar({ cwd: job.dir, portable: true }, contextFiles(job.dir));
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
      t: job.tag,
      ...(job.baseImage ? { buildargs: { BASE_IMAGE: job.baseImage } } : {}),
      labels: { [LABEL_MANAGED]: "1", [LABEL_RECIPE]: job.name, [LABEL_CONTEXT]: job.digest },
      rm: true,
      forcerm: true,
      ...(options.signal ? { abortSignal: options.signal } : {}),
    });
  } catch (e) {
    throw engineError(`cannot build the sandbox image for ${job.what}`, e);
  }
  const tail: string[] = [];
  let failure: string | undefined;
  let builtId: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (e: Error | null) => (e && !failure ? reject(e) : resolve()),
      (event: BuildEvent) => {
        if (event.aux?.ID) builtId = event.aux.ID;
        if (event.error) failure = event.errorDetail?.message ?? event.error;
        const text = event.stream ?? event.status ?? event.error;
        if (!text) return;
        for (const line of text.split("\n").map((l) => l.trimEnd()).filter(Boolean)) {
          tail.push(line);
          if (tail.length > LOG_TAIL) tail.shift();
          log(line);
          const step = /^Step (\d+)\/(\d+) :/.exec(line);
          if (step) options.progress?.(Number(step[1]) - 1, Number(step[2]));
        }
      },
    );
  }).catch((e: unknown) => {
    if (options.signal?.aborted) throw options.signal.reason;
    throw engineError(`building the sandbox image for ${job.what} failed`, e);
  });
  options.signal?.throwIfAborted();
  if (failure !== undefined) {
    const hint = baseMissing
      ? `the base image ${job.baseImage} is not in the engine and could not be pulled: pull or import it (see docs/sandboxes.md), or set sandbox.base_image`
      : (job.fixHint ?? `fix ${job.dir}/Dockerfile; the last lines of the build log are above`);
    throw new SandboxError(`building the sandbox image for ${job.what} failed: ${failure.trim()}\n${tail.map((l) => `  | ${l}`).join("\n")}`, hint);
  }
  const id = (await taggedImage(docker, job.tag, job.digest)) ?? builtId;
  if (!id) throw new SandboxError(`the build of ${job.tag} ended without an image`);
  options.progress?.(1, 1);
  return id;
}
