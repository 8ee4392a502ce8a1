import { hostname } from "node:os";

/**
 * How the trainer's Python starts. One process, unless the executor gave the job several GPUs:
 * its job then says so in the environment (SABUILD_LAUNCHER, SABUILD_PROCS_PER_NODE), and the
 * trainer runs data-parallel under torchrun (`python -m torch.distributed.run`), one process
 * per GPU. In a Slurm job, srun starts one torchrun on each node of the allocation, which
 * rendezvous at the first node (this one: the batch step runs there).
 *
 * None of this is in the train stage's key: the trainer keeps the global batch (rows per
 * optimizer step), the steps and the schedule whatever the world size (trainer/throughput.py's
 * split_for_world), so only the floating-point order of the reductions differs, as it does
 * between two GPU models, which are not keyed either.
 */

export interface Launch {
  command: string;
  args: string[];
  /** Processes in all, for the log; 1 when run plainly. */
  processes: number;
}

/** The variables an executor sets in a job that asks for more than one GPU. */
export const LAUNCH_ENV = { launcher: "SABUILD_LAUNCHER", procsPerNode: "SABUILD_PROCS_PER_NODE" } as const;

export type Launcher = "srun" | "torchrun";

/** `python <args>`, or the same module under torchrun (and srun) when the job asks for it. */
export function trainerLaunch(python: string, args: string[], env: NodeJS.ProcessEnv): Launch {
  const launcher = env[LAUNCH_ENV.launcher] as Launcher | undefined;
  const perNode = Number(env[LAUNCH_ENV.procsPerNode] ?? "1");
  if ((launcher !== "srun" && launcher !== "torchrun") || !Number.isInteger(perNode) || perNode < 2) return { command: python, args, processes: 1 };
  const nodes = launcher === "srun" ? Math.max(1, Number(env.SLURM_JOB_NUM_NODES ?? "1") || 1) : 1;
  const torchrun = [
    "-m",
    "torch.distributed.run",
    `--nnodes=${nodes}`,
    `--nproc_per_node=${perNode}`,
    // One node: torchrun's own rendezvous on a free port. Several: c10d at the first node, named by the job.
    ...(nodes === 1 ? ["--standalone"] : ["--rdzv_backend=c10d", `--rdzv_endpoint=${hostname()}:${rendezvousPort(env.SLURM_JOB_ID)}`, `--rdzv_id=${env.SLURM_JOB_ID ?? "sabuild"}`]),
    ...args,
  ];
  if (launcher === "torchrun") return { command: python, args: torchrun, processes: perNode };
  // One torchrun per node; a rank that fails ends the step instead of leaving the others waiting.
  return { command: "srun", args: [`--nodes=${nodes}`, `--ntasks=${nodes}`, "--ntasks-per-node=1", "--kill-on-bad-exit=1", python, ...torchrun], processes: perNode * nodes };
}

/** A port per job, so two jobs sharing a first node do not meet at the same rendezvous. */
function rendezvousPort(jobId: string | undefined): number {
  return 29400 + (Number(jobId ?? 0) % 1000);
}
