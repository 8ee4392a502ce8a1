import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { RayConfig } from "../config/executor-schema.js";
import type { RemoteExecutor, RemoteJob, TaskEnd } from "../engine/executor.js";
import { PACKAGE_ROOT } from "../toolchain/dirs.js";
import { LAUNCH_ENV } from "../toolchain/launch.js";
import { EXEC_EXIT, execArgv, remoteExecutor, stopsIn, type ExecLaunch } from "./job-command.js";

/**
 * Ray through its core API: a small Python driver (trainer/ray_exec.py) connects to the
 * cluster, submits one remote task per slice with the configured resources, and reports each
 * task as it ends. Stopping the driver (SIGTERM) cancels its tasks with ray.cancel.
 */

const DRIVER = join(PACKAGE_ROOT, "trainer", "ray_exec.py");

type DriverLine = { connected: true } | { cancelled: true } | { task: number; ok: boolean; code: number; log: string; stops?: string[] };

export function rayExecutor(name: string, cfg: RayConfig, launch: ExecLaunch): RemoteExecutor {
  return remoteExecutor(name, cfg.items_per_task, launch, (job, jobLaunch, signal, log, settles) => drive(name, cfg, jobLaunch, job, signal, log, settles));
}

/** What the driver reads: the tasks' command lines, resources and environment. */
export function driverSpec(cfg: RayConfig, launch: ExecLaunch, job: RemoteJob): object {
  const plain = job.slices.length === 1 && job.slices[0]!.length === 0;
  const runtimeEnv = { ...(cfg.runtime_env ?? {}) } as Record<string, unknown>;
  // Ray's workers get the raylet's environment, not ours: what the job needs goes along.
  // Several GPUs for one task: the trainer runs data-parallel under torchrun on them (toolchain/launch.ts).
  const gpus = Math.floor(cfg.num_gpus ?? 0);
  const launchVars = gpus > 1 ? { [LAUNCH_ENV.launcher]: "torchrun", [LAUNCH_ENV.procsPerNode]: String(gpus) } : {};
  runtimeEnv.env_vars = { ...launch.env, ...launchVars, ...((runtimeEnv.env_vars as Record<string, string> | undefined) ?? {}) };
  return {
    address: cfg.address,
    options: { num_cpus: cfg.num_cpus ?? 1, num_gpus: cfg.num_gpus, memory: cfg.memory, resources: cfg.resources, max_retries: 0 },
    runtime_env: runtimeEnv,
    tasks: job.slices.map((slice) => ({ argv: execArgv(launch, job, plain ? undefined : slice.join(",")), cwd: launch.workdir })),
  };
}

function drive(name: string, cfg: RayConfig, launch: ExecLaunch, job: RemoteJob, signal: AbortSignal, log: (line: string) => void, settles: ((end: TaskEnd) => void)[]): void {
  const open = new Set(settles.keys());
  const settle = (i: number, end: TaskEnd): void => {
    if (open.delete(i)) settles[i]!(end);
  };
  const failAll = (message: string): void => [...open].forEach((i) => settle(i, { ok: false, id: `${name}#${i}`, message }));
  if (signal.aborted) return failAll("cancelled before submission");
  const child = spawn(cfg.python, [DRIVER], { stdio: ["pipe", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr.setEncoding("utf8").on("data", (d: string) => stderr.push(d));
  child.on("error", (e) => failAll(`${name}: cannot start the Ray driver (${cfg.python}): ${e.message}`));
  child.stdin.end(JSON.stringify(driverSpec(cfg, launch, job)));
  const cancel = (): void => {
    child.kill("SIGTERM");
    failAll("cancelled: ray.cancel");
  };
  signal.addEventListener("abort", cancel, { once: true });
  createInterface({ input: child.stdout }).on("line", (text) => {
    let line: DriverLine;
    try {
      line = JSON.parse(text) as DriverLine;
    } catch {
      return log(text);
    }
    if ("connected" in line) return log(`${name}: submitted ${job.slices.length} Ray task(s) to ${cfg.address}`);
    if (!("task" in line)) return;
    const id = `${name} task ${line.task}`;
    for (const l of line.log ? line.log.split("\n") : []) log(`[ray ${line.task}] ${l}`);
    const stops = stopsIn(line.stops ?? []);
    const stopped = stops ? { stopped: stops } : {};
    const why = line.code === EXEC_EXIT.stopped ? ", items stopped" : "";
    settle(line.task, line.ok ? { ok: true, id, ...stopped } : { ok: false, id, message: `Ray ${id} failed (exit ${line.code}${why}): ${line.log.split("\n").slice(-3).join(" | ")}`, ...stopped });
  });
  child.on("close", (code) => {
    signal.removeEventListener("abort", cancel);
    const why = stderr.join("").trim().split("\n").slice(-5).join("\n");
    failAll(`${name}: the Ray driver exited (${code}) before its tasks ended${why ? `:\n${why}` : ""}`);
  });
}
