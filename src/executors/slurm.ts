import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SlurmConfig } from "../config/executor-schema.js";
import type { RemoteExecutor, RemoteJob, TaskEnd, TaskStops } from "../engine/executor.js";
import { shellQuote } from "../sandbox/shell.js";
import { LAUNCH_ENV } from "../toolchain/launch.js";
import { EXEC_EXIT, execArgv, remoteExecutor, stopsIn, type ExecLaunch } from "./job-command.js";

/**
 * Slurm through its commands (sbatch, scontrol, sacct, scancel), as a user at a login node
 * would use them. A map stage's items are one array job, each array task a slice. State comes
 * from `scontrol show job` (finished jobs stay there MinJobAge seconds), else from sacct.
 */

const ENDED_OK = "COMPLETED";
const RUNNING = new Set(["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "STOPPED"]);
/** Lines of a failed task's log copied into the stage's log. */
const LOG_TAIL = 40;

export function slurmExecutor(name: string, cfg: SlurmConfig, launch: ExecLaunch, logDir: string): RemoteExecutor {
  return remoteExecutor(name, cfg.items_per_task, launch, (job, jobLaunch, signal, log, settles) => void follow(name, cfg, jobLaunch, logDir, job, signal, log, settles));
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (error && code === 127 ? error.message : "") });
    });
  });
}

/** The batch script: resources as #SBATCH lines, then `sabuild exec` on the task's slice. */
export function batchScript(cfg: SlurmConfig, launch: ExecLaunch, job: RemoteJob, logDir: string): string {
  const array = job.slices.length > 1 || (job.slices[0]?.length ?? 0) > 0;
  const opts = [
    `--job-name=sabuild-${job.node.replace(/[^\w.-]/g, "_")}`,
    `--output=${join(logDir, array ? "%A_%a.out" : "%j.out")}`,
    ...(array ? [`--array=0-${job.slices.length - 1}${cfg.max_running ? `%${cfg.max_running}` : ""}`] : []),
    ...(cfg.partition ? [`--partition=${cfg.partition}`] : []),
    ...(cfg.account ? [`--account=${cfg.account}`] : []),
    ...(cfg.qos ? [`--qos=${cfg.qos}`] : []),
    ...(cfg.time ? [`--time=${cfg.time}`] : []),
    ...(cfg.cpus ? [`--cpus-per-task=${cfg.cpus}`] : []),
    ...(cfg.mem ? [`--mem=${cfg.mem}`] : []),
    ...(cfg.gres ? [`--gres=${cfg.gres}`] : []),
    ...(cfg.gpus ? [`--gpus=${cfg.gpus}`] : []),
    ...(cfg.constraint ? [`--constraint=${cfg.constraint}`] : []),
    // A bundle is unpacked under the job's working directory, not in a checkout.
    ...(launch.inputs ? [`--chdir=${launch.workdir}`] : []),
    ...cfg.sbatch,
  ];
  const argv = execArgv(launch, job).map(shellQuote).join(" ");
  const lines = ["#!/bin/bash", ...opts.map((o) => `#SBATCH ${o}`), "set -eu"];
  const gpus = gpusPerNode(cfg);
  // Several GPUs: the trainer runs data-parallel, srun starting torchrun on each node (toolchain/launch.ts).
  if (gpus > 1) lines.push(`export ${LAUNCH_ENV.launcher}=srun ${LAUNCH_ENV.procsPerNode}="\${SLURM_GPUS_ON_NODE:-${gpus}}"`);
  if (!array) return `${lines.join("\n")}\nexec ${argv}\n`;
  lines.push(`slices=(${job.slices.map((s) => shellQuote(s.join(","))).join(" ")})`);
  return `${lines.join("\n")}\nexec ${argv} --items "\${slices[\${SLURM_ARRAY_TASK_ID}]}"\n`;
}

/** The GPUs a job asks for on each node: `gres: gpu:2` (or gpu:a100:2), else `gpus`. */
export function gpusPerNode(cfg: SlurmConfig): number {
  const fromGres = (cfg.gres ?? "")
    .split(",")
    .filter((g) => g === "gpu" || g.startsWith("gpu:"))
    .map((g) => {
      const count = g.split(":").at(-1)!;
      return /^\d+$/.test(count) ? Number(count) : 1;
    });
  return Math.max(0, ...fromGres, cfg.gpus ?? 0);
}

async function follow(
  name: string,
  cfg: SlurmConfig,
  launch: ExecLaunch,
  logDir: string,
  job: RemoteJob,
  signal: AbortSignal,
  log: (line: string) => void,
  settles: ((end: TaskEnd) => void)[],
): Promise<void> {
  const open = new Set(settles.keys());
  const settle = (i: number, end: TaskEnd): void => {
    if (!open.delete(i)) return;
    settles[i]!(end);
  };
  const failAll = (id: string, message: string): void => [...open].forEach((i) => settle(i, { ok: false, id, message }));
  await mkdir(logDir, { recursive: true });
  const script = join(logDir, `submit-${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sh`);
  await writeFile(script, batchScript(cfg, launch, job, logDir), { mode: 0o755 });
  if (signal.aborted) return failAll("-", "cancelled before submission");
  const sub = await run("sbatch", ["--parsable", script]);
  if (sub.code !== 0) return failAll("-", `${name}: sbatch failed: ${(sub.stderr || sub.stdout).trim()}`);
  const jobId = sub.stdout.trim().split(";")[0]!;
  const array = job.slices.length > 1 || (job.slices[0]?.length ?? 0) > 0;
  const taskId = (i: number): string => (array ? `${jobId}_${i}` : jobId);
  const logOf = (i: number): string => join(logDir, array ? `${jobId}_${i}.out` : `${jobId}.out`);
  log(`${name}: submitted Slurm job ${jobId}${array ? ` (array of ${job.slices.length})` : ""}; logs in ${logDir}`);
  const cancel = (): void => {
    void run("scancel", [jobId]);
    failAll(jobId, `cancelled: scancel ${jobId}`);
  };
  signal.addEventListener("abort", cancel, { once: true });
  try {
    while (open.size) {
      await new Promise((r) => setTimeout(r, cfg.poll_s * 1000));
      if (signal.aborted) return;
      const states = await jobStates(jobId);
      if (!states) {
        // Neither scontrol nor sacct knows the job: it ended and was purged; the remote cache says how.
        for (const i of [...open]) settle(i, { ok: true, id: taskId(i), ...withStops((await readLog(logOf(i))).stops) });
        break;
      }
      for (const i of [...open]) {
        const st = states.get(taskId(i));
        if (!st) {
          // Cancelled while pending, an array task leaves no record of its own behind.
          if (!states.pending.has(i)) settle(i, { ok: false, id: taskId(i), message: `Slurm job ${taskId(i)} left the queue without an end state (cancelled before it started?)` });
          continue;
        }
        if (RUNNING.has(st.state)) continue;
        const { tail, stops } = await readLog(logOf(i));
        for (const line of tail) log(`[${taskId(i)}] ${line}`);
        if (st.state === ENDED_OK) settle(i, { ok: true, id: taskId(i), ...withStops(stops) });
        else {
          const why = st.exit === `${EXEC_EXIT.stopped}:0` ? ", items stopped" : "";
          settle(i, { ok: false, id: taskId(i), message: `Slurm job ${taskId(i)} ended ${st.state} (exit ${st.exit}${why}); its log: ${logOf(i)}`, ...withStops(stops) });
        }
      }
    }
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

/** A task's log: its last lines (for the stage's log) and the items it reports stopped. */
async function readLog(path: string): Promise<{ tail: string[]; stops?: TaskStops }> {
  let lines: string[];
  try {
    lines = (await readFile(path, "utf8")).trimEnd().split("\n");
  } catch {
    return { tail: [] };
  }
  const stops = stopsIn(lines);
  return { tail: lines.slice(-LOG_TAIL), ...(stops ? { stops } : {}) };
}

function withStops(stops: TaskStops | undefined): { stopped?: TaskStops } {
  return stops ? { stopped: stops } : {};
}

/** State of each task ("<job>_<i>", or "<job>" alone), or undefined when Slurm no longer knows the job. */
type JobStates = Map<string, { state: string; exit: string }> & { pending: Set<number> };

/** Task indexes of a pending array record: "1-3%2", "4,6-7". */
function taskRange(spec: string): number[] {
  return spec
    .replace(/%\d+$/, "")
    .split(",")
    .flatMap((part) => {
      const [a, b] = part.split("-").map(Number);
      if (a === undefined || Number.isNaN(a)) return [];
      return Array.from({ length: (b ?? a) - a + 1 }, (_, k) => a + k);
    });
}

async function jobStates(jobId: string): Promise<JobStates | undefined> {
  const shown = await run("scontrol", ["show", "job", jobId, "-o"]);
  const states: JobStates = Object.assign(new Map<string, { state: string; exit: string }>(), { pending: new Set<number>() });
  if (shown.code === 0) {
    for (const line of shown.stdout.split("\n")) {
      const f = Object.fromEntries(line.split(/\s+/).flatMap((kv) => (kv.includes("=") ? [[kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]] : [])));
      if (!f.JobState) continue;
      const state = f.JobState;
      const exit = f.ExitCode ?? "?";
      // A pending array's rest shows as one record with a range ("2-3%2"): those tasks are all pending.
      if (f.ArrayJobId && f.ArrayTaskId && /^\d+$/.test(f.ArrayTaskId)) states.set(`${f.ArrayJobId}_${f.ArrayTaskId}`, { state, exit });
      else if (f.ArrayJobId && f.ArrayTaskId) for (const i of taskRange(f.ArrayTaskId)) states.pending.add(i);
      else states.set(f.JobId ?? jobId, { state, exit });
    }
    return states;
  }
  // Purged from the controller: accounting, when the cluster keeps it, has every array task's row.
  const acct = await run("sacct", ["-n", "-P", "-X", "-j", jobId, "-o", "JobID,State,ExitCode"]);
  if (acct.code !== 0 || !acct.stdout.trim()) return undefined;
  for (const row of acct.stdout.trim().split("\n")) {
    const [id, state, exit] = row.split("|");
    if (id && state) states.set(id, { state: state.split(" ")[0]!, exit: exit ?? "?" });
  }
  return states;
}
