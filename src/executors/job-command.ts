import type { ExecOrder, RemoteExecutor, RemoteJob, TaskEnd, TaskStops } from "../engine/executor.js";

/** What a remote executor needs to know to start `sabuild exec` on a node. */
export interface ExecLaunch {
  /** ship: checkout: the project checkout as the nodes see it; ship: bundle: the job's working directory, where it unpacks the inputs. */
  workdir: string;
  /** ship: bundle: packs a job's input files into the tree it runs on (the `--inputs` argument), uploaded to the remote cache. */
  pack?: (files: Record<string, string>) => Promise<string>;
  /** Set per job when the inputs travel as a bundle: `sabuild exec --inputs`. */
  inputs?: string;
  /** The config file relative to the project, when it is not subagents.yaml (`build -c`). */
  config?: string;
  /** The command that runs sabuild there (argv). */
  sabuild: string[];
  /** A node-local store to reuse between jobs; unset: `sabuild exec` makes a temporary one. */
  store?: string;
  /** Items of a slice run at once. */
  jobs: number;
  /**
   * What the job must find in its environment: the remote cache's settings and every variable
   * subagents.yaml refers to (API keys, the cache's token). Slurm exports the submitting
   * environment itself; Ray's workers start from the raylet's, so these travel in runtime_env.
   */
  env: Record<string, string>;
}

/** Exit codes of `sabuild exec` beyond 0 and 1: the build (and a user reading sacct) tells them apart. */
export const EXEC_EXIT = {
  /** This checkout or toolchain computes another key than the build's. */
  keyMismatch: 3,
  /** Items stopped on a limit the stage enforces (a spend budget); none failed. */
  stopped: 4,
} as const;

/**
 * The line `sabuild exec` prints for an item that stopped (its job's log is how the build
 * learns why: Slurm's output file, the Ray task's output). One JSON object after a fixed
 * mark, so a prompt or a hint with any text in it reads back whole. trainer/ray_exec.py
 * looks for the same mark.
 */
export const STOP_MARK = "sabuild-exec-stopped ";

export function stopLine(id: string, why: string, hint?: string): string {
  return `${STOP_MARK}${JSON.stringify({ id, why, ...(hint ? { hint } : {}) })}`;
}

/** The stopped items a job's output reports; other lines, and marks that do not parse, are ignored. */
export function stopsIn(lines: Iterable<string>): TaskStops | undefined {
  let stops: TaskStops | undefined;
  for (const line of lines) {
    const at = line.indexOf(STOP_MARK);
    if (at < 0) continue;
    try {
      const s = JSON.parse(line.slice(at + STOP_MARK.length)) as { id?: unknown; why?: unknown; hint?: unknown };
      if (typeof s.id !== "string" || typeof s.why !== "string") continue;
      (stops ??= {})[s.id] = { why: s.why, ...(typeof s.hint === "string" ? { hint: s.hint } : {}) };
    } catch {
      continue;
    }
  }
  return stops;
}

/** The order travels inside the job's own text (script or task argument): no shared files needed. */
export function encodeOrder(order: ExecOrder): string {
  return Buffer.from(JSON.stringify(order)).toString("base64");
}

/** `sabuild exec` for one job; `items` is the slice (comma-separated ids), absent for a plain stage. */
export function execArgv(launch: ExecLaunch, job: RemoteJob, items?: string): string[] {
  return [
    ...launch.sabuild,
    "exec",
    job.node,
    ...(launch.inputs ? ["--inputs", launch.inputs] : ["-C", launch.workdir]),
    ...(launch.config ? ["--config", launch.config] : []),
    "--key",
    job.key,
    "--order",
    encodeOrder(job.order),
    "-j",
    String(launch.jobs),
    ...(launch.store ? ["--store", launch.store] : []),
    ...(items !== undefined ? ["--items", items] : []),
  ];
}

/** The environment a job needs from this build: the remote cache's settings and the variables `refs` names. */
export function jobEnv(env: Record<string, string | undefined>, refs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of refs) if (env[name] !== undefined) out[name] = env[name];
  for (const [k, v] of Object.entries(env)) if (k.startsWith("SABUILD_REMOTE_CACHE") && v) out[k] = v;
  // The job uploads what it builds, whatever mode this build reads with.
  out.SABUILD_REMOTE_CACHE_MODE = "readwrite";
  return out;
}

/**
 * A cluster executor: `start` submits the job and settles each slice's task as it ends (one
 * settle per slice, by index); the engine gets one promise per slice. With `ship: bundle` the
 * job's inputs are packed and uploaded first, and `start` gets the launch that names them.
 */
export function remoteExecutor(
  name: string,
  itemsPerTask: number,
  launch: ExecLaunch,
  start: (job: RemoteJob, launch: ExecLaunch, signal: AbortSignal, log: (line: string) => void, settles: ((end: TaskEnd) => void)[]) => void,
): RemoteExecutor {
  return {
    name,
    where: "remote",
    itemsPerTask,
    submit(job, signal, log) {
      const settles: ((end: TaskEnd) => void)[] = [];
      const tasks = job.slices.map(() => new Promise<TaskEnd>((r) => settles.push(r)));
      if (!launch.pack) start(job, launch, signal, log, settles);
      else
        launch.pack(job.files).then(
          (inputs) => start(job, { ...launch, inputs }, signal, log, settles),
          (e: unknown) => settles.forEach((settle) => settle({ ok: false, id: "-", message: `${name}: cannot ship the job's inputs: ${e instanceof Error ? e.message : String(e)}` })),
        );
      return tasks;
    },
  };
}
