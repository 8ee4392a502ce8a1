import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { createOwnedContainer, removeOwned } from "../sandbox/cleanup.js";
import { feed, lineSplitter, type TrainerSink } from "./trainer-process.js";

/** Where the `docker` runner mounts things inside the trainer container. */
export const CONTAINER = {
  project: "/sabuild/project",
  pkg: "/sabuild/pkg",
  dataset: "/sabuild/dataset",
  out: "/sabuild/out",
  cfg: "/sabuild/cfg",
  hf: "/sabuild/hf",
} as const;

export interface ContainerSpecInput {
  image: string;
  /** Host paths. */
  projectRoot: string;
  packageRoot: string;
  datasetDir: string;
  outDir: string;
  cfgDir: string;
  /** The host's Hugging Face cache, shared so that a base model is downloaded once. */
  hfHome: string;
  gpus: boolean;
  /** uid:gid the trainer runs as, so that the outputs belong to the user. */
  user?: string;
  /** Passed through when set on the host (never part of a key or a log). */
  hfToken?: string;
}

/** The container the `docker` runner creates: pure, so that its shape is tested without a GPU. */
export function trainContainerSpec(s: ContainerSpecInput): Docker.ContainerCreateOptions {
  const env = [`PYTHONPATH=${CONTAINER.pkg}`, `HF_HOME=${CONTAINER.hf}`, "PYTHONUNBUFFERED=1", "HOME=/tmp", "TOKENIZERS_PARALLELISM=false"];
  if (s.hfToken) env.push(`HF_TOKEN=${s.hfToken}`);
  return {
    Image: s.image,
    Cmd: ["python3", "-m", "trainer.sft", "--config", `${CONTAINER.cfg}/cfg.json`],
    WorkingDir: CONTAINER.project,
    Env: env,
    ...(s.user ? { User: s.user } : {}),
    HostConfig: {
      Binds: [
        `${s.projectRoot}:${CONTAINER.project}:ro`,
        `${join(s.packageRoot, "trainer")}:${CONTAINER.pkg}/trainer:ro`,
        `${s.datasetDir}:${CONTAINER.dataset}:ro`,
        `${s.cfgDir}:${CONTAINER.cfg}:ro`,
        `${s.outDir}:${CONTAINER.out}`,
        `${s.hfHome}:${CONTAINER.hf}`,
      ],
      // The dataloader and NCCL use shared memory; Docker's default 64 MiB is too small.
      ShmSize: 2 * 1024 ** 3,
      ...(s.gpus ? { DeviceRequests: [{ Driver: "", Count: -1, DeviceIDs: [], Capabilities: [["gpu"]], Options: {} }] } : {}),
    },
  };
}

/** GPUs are requested when the host has an NVIDIA driver; SABUILD_GPUS=0 or 1 decides instead. */
export function hostHasGpus(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.SABUILD_GPUS === "0") return false;
  if (env.SABUILD_GPUS === "1") return true;
  return existsSync("/dev/nvidiactl") || existsSync("/proc/driver/nvidia/version");
}

export function hostHfHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
}

export async function imageIdentity(docker: Docker, image: string): Promise<string> {
  const info = await docker.getImage(image).inspect();
  return info.Id;
}

/** Runs the trainer container to the end, streaming its lines; kills and removes it on abort. */
export async function runContainer(docker: Docker, spec: Docker.ContainerCreateOptions, signal: AbortSignal, sink: TrainerSink): Promise<number> {
  if (signal.aborted) throw new Error("aborted");
  let container: Docker.Container;
  try {
    container = await createOwnedContainer(docker, spec, "trainer");
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /device driver|gpu/i.test(msg) ? " (install the NVIDIA Container Toolkit, or set SABUILD_GPUS=0 to train on the CPU)" : "";
    throw new Error(`cannot create the trainer container from ${spec.Image}: ${msg}${hint}`);
  }
  const onAbort = () => void container.kill().catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    const outLines = lineSplitter(feed(sink, "stdout"));
    const errLines = lineSplitter(feed(sink, "stderr"));
    out.on("data", (d: Buffer) => outLines.push(d));
    err.on("data", (d: Buffer) => errLines.push(d));
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise<void>((resolve) => stream.on("end", () => resolve()));
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
    outLines.end();
    errLines.end();
    if (signal.aborted) throw new Error("aborted");
    return StatusCode;
  } finally {
    signal.removeEventListener("abort", onAbort);
    await removeOwned(container).catch(() => {});
  }
}
