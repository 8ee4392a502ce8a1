import * as z from "zod";
import { nonEmpty, positiveInt, positiveNumber } from "./fields.js";

/**
 * `executors:` in subagents.yaml: named places where stages run besides this machine. Each is
 * a cluster engine the user already runs (Slurm, Ray); sabuild submits `sabuild exec` jobs to
 * it and takes the results back through the remote cache, so it schedules nothing itself.
 */

const common = {
  ship: z
    .enum(["checkout", "bundle"])
    .default("checkout")
    .describe("How a job finds the project's inputs: a checkout at workdir (shared), or a bundle this build uploads to the remote cache and the job unpacks."),
  workdir: nonEmpty()
    .optional()
    .describe("ship: checkout: the project's checkout as the cluster's nodes see it (default: this project directory). ship: bundle: where a job unpacks the inputs, a scratch directory on the node (default: /tmp)."),
  sabuild: nonEmpty()
    .optional()
    .describe("The command that runs sabuild on a node; default: the Node and CLI running this build."),
  store: nonEmpty()
    .optional()
    .describe("A node-local store for the jobs (reused between jobs); default: a fresh temporary one per job."),
  items_per_task: positiveInt().default(1).describe("A map stage's items per task: one array task (Slurm) or remote task (Ray) runs a slice of this many."),
  jobs_per_task: positiveInt().default(1).describe("Items of its slice one task runs at once (sabuild exec -j); match it to the task's CPUs."),
  max_running: positiveInt().optional().describe("Tasks of one job running at once (Slurm's --array=0-N%K)."),
  poll_s: positiveNumber().default(2).describe("Seconds between two looks at the jobs' state."),
};

const slurm = z.strictObject({
  type: z.literal("slurm"),
  ...common,
  partition: nonEmpty().optional(),
  account: nonEmpty().optional(),
  qos: nonEmpty().optional(),
  time: nonEmpty().optional().describe("Time limit, as sbatch --time takes it (e.g. 2:00:00)."),
  cpus: positiveInt().optional().describe("sbatch --cpus-per-task."),
  mem: nonEmpty().optional().describe("sbatch --mem, e.g. 16G."),
  gres: nonEmpty().optional().describe("sbatch --gres, e.g. gpu:1."),
  gpus: positiveInt().optional().describe("sbatch --gpus."),
  constraint: nonEmpty().optional(),
  sbatch: z.array(nonEmpty()).default([]).describe("Extra sbatch options, one per item, e.g. --exclusive."),
});

const ray = z.strictObject({
  type: z.literal("ray"),
  ...common,
  address: nonEmpty().default("auto").describe("ray.init's address: auto, host:port, or a ray:// client address."),
  python: nonEmpty().default("python3").describe("A Python with the ray package, for the driver that submits the tasks."),
  num_cpus: positiveNumber().optional(),
  num_gpus: positiveNumber().optional(),
  memory: positiveInt().optional().describe("Bytes of memory a task reserves."),
  resources: z.record(z.string(), positiveNumber()).optional().describe("Custom resources a task needs, e.g. {TPU: 1}."),
  runtime_env: z.record(z.string(), z.unknown()).optional().describe("Ray's runtime_env for the tasks (env_vars, working_dir, ...)."),
});

export const executorSchema = z.discriminatedUnion("type", [slurm, ray], { error: "a mapping with type: slurm or type: ray" });

export const executorsSchema = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'lowercase letters, digits, "-" and "_"' }), executorSchema)
  .default({})
  .describe("Named cluster executors; a stage runs on one when `executor:` names it for its kind (local is this machine).");

export type ExecutorConfig = z.output<typeof executorSchema>;
export type SlurmConfig = Extract<ExecutorConfig, { type: "slurm" }>;
export type RayConfig = Extract<ExecutorConfig, { type: "ray" }>;
