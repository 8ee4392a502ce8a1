import type { ExecOrder, RemoteExecutor, RemoteJob, TaskEnd } from "../engine/executor.js";

/** What a remote executor needs to know to start `sabuild exec` on a node. */
export interface ExecLaunch {
  /** The project checkout as the nodes see it. */
  workdir: string;
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
    "-C",
    launch.workdir,
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
 * settle per slice, by index); the engine gets one promise per slice.
 */
export function remoteExecutor(
  name: string,
  itemsPerTask: number,
  start: (job: RemoteJob, signal: AbortSignal, log: (line: string) => void, settles: ((end: TaskEnd) => void)[]) => void,
): RemoteExecutor {
  return {
    name,
    where: "remote",
    itemsPerTask,
    submit(job, signal, log) {
      const settles: ((end: TaskEnd) => void)[] = [];
      const tasks = job.slices.map(() => new Promise<TaskEnd>((r) => settles.push(r)));
      start(job, signal, log, settles);
      return tasks;
    },
  };
}
