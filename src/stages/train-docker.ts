import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { err, ok, type Result } from "../result.js";
import { CONTAINER, hostHasGpus, hostHfHome, imageIdentity, runContainer, trainContainerSpec } from "../toolchain/trainer-container.js";
import type { TrainerSink } from "../toolchain/trainer-process.js";
import { PACKAGE_ROOT } from "../toolchain/venv.js";
import { trainCfg, type BaseModel } from "./train.js";
import type { RunContext } from "./types.js";

/** The `docker` runner of the train stage: loaded only when a subagent asks for it. */

export async function trainerImageId(image: string): Promise<Result<string, { message: string; hint: string }>> {
  const docker = new Docker();
  try {
    return ok(await imageIdentity(docker, image));
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status === 404) return err({ message: `trainer image ${image} not found`, hint: `docker pull ${image}, or build an image with python3 and trainer/requirements.txt installed` });
    return err({ message: `cannot reach Docker to inspect ${image}: ${(e as Error).message}`, hint: "start the Docker daemon, or use runner: local" });
  }
}

export async function runTrainerContainer(ctx: RunContext, run: { base: BaseModel; cfgDir: string; validation: boolean; sink: TrainerSink }): Promise<number> {
  const t = ctx.subagent.train;
  const image = t.image!;
  const extraBinds: string[] = [];
  let model: string;
  if (run.base.kind === "hub") model = run.base.id;
  else if (!run.base.rel.startsWith("..")) model = run.base.rel;
  else {
    // A model directory outside the project gets its own mount.
    model = "/sabuild/model";
    extraBinds.push(`${run.base.dir}:${model}:ro`);
  }
  const cfg = trainCfg(t, { model, dataset: CONTAINER.dataset, out: CONTAINER.out, validation: run.validation });
  await writeFile(join(run.cfgDir, "cfg.json"), `${JSON.stringify(cfg, null, 2)}\n`);
  const hfHome = hostHfHome();
  await mkdir(hfHome, { recursive: true });
  const gpus = hostHasGpus();
  const spec = trainContainerSpec({
    image,
    projectRoot: ctx.project.root,
    packageRoot: PACKAGE_ROOT,
    datasetDir: ctx.upstream.dataset!.dir,
    outDir: ctx.outDir,
    cfgDir: run.cfgDir,
    hfHome,
    gpus,
    ...(process.getuid && process.getgid ? { user: `${process.getuid()}:${process.getgid()}` } : {}),
    ...(process.env.HF_TOKEN ? { hfToken: process.env.HF_TOKEN } : {}),
  });
  spec.HostConfig!.Binds!.push(...extraBinds);
  ctx.log(`trainer container from ${image}${gpus ? " with all GPUs" : " on the CPU"}`);
  return runContainer(new Docker(), spec, ctx.signal, run.sink);
}
