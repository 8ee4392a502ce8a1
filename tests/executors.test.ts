import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RayConfig, SlurmConfig } from "../src/config/executor-schema.js";
import { executorSchema } from "../src/config/executor-schema.js";
import type { RemoteJob } from "../src/engine/executor.js";
import { driverSpec } from "../src/executors/ray.js";
import { jobEnv, stopLine, stopsIn } from "../src/executors/job-command.js";
import { batchScript, gpusPerNode } from "../src/executors/slurm.js";
import { trainerLaunch } from "../src/toolchain/launch.js";
import { engineProject } from "./engine-project.js";
import { sabuildJson } from "./helpers.js";

const launch = { workdir: "/shared/proj ect", sabuild: ["/opt/node", "/opt/sabuild/main.js"], jobs: 2, env: jobEnv({ SABUILD_REMOTE_CACHE: "http://cache.example/x", OPENAI_API_KEY: "sk-1", HOME: "/root" }, ["OPENAI_API_KEY", "UNSET"]) };
const order = { upstream: { tasks: "a".repeat(64) }, items: { t1: { key: "b".repeat(64) }, t2: { key: "c".repeat(64) }, t3: { key: "d".repeat(64) } } };
const mapJob: RemoteJob = { node: "alpha:traces", key: "e".repeat(64), order, slices: [["t1", "t2"], ["t3"]], files: {} };
const plainJob: RemoteJob = { node: "alpha:train", key: "f".repeat(64), order: { upstream: {} }, slices: [[]], files: {} };

describe("the Slurm batch script", () => {
  it("puts every resource on an #SBATCH line and runs sabuild exec in the checkout", () => {
    const cfg = executorSchema.parse({ type: "slurm", partition: "gpu", account: "lab", qos: "high", time: "1:00:00", cpus: 8, mem: "32G", gres: "gpu:2", gpus: 2, constraint: "a100", sbatch: ["--exclusive"] }) as SlurmConfig;
    const script = batchScript(cfg, launch, plainJob, "/logs");
    const opts = script.split("\n").filter((l) => l.startsWith("#SBATCH ")).map((l) => l.slice(8));
    expect(opts).toEqual(["--job-name=sabuild-alpha_train", "--output=/logs/%j.out", "--partition=gpu", "--account=lab", "--qos=high", "--time=1:00:00", "--cpus-per-task=8", "--mem=32G", "--gres=gpu:2", "--gpus=2", "--constraint=a100", "--exclusive"]);
    expect(script).toContain(`exec /opt/node /opt/sabuild/main.js exec alpha:train -C '/shared/proj ect' --key ${"f".repeat(64)} --order `);
    expect(script).not.toContain("--items");
  });

  it("with ship: bundle, runs in the workdir from the shipped inputs instead of a checkout", () => {
    const cfg = executorSchema.parse({ type: "slurm", ship: "bundle" }) as SlurmConfig;
    const script = batchScript(cfg, { ...launch, workdir: "/scratch", inputs: "SU5QVVRT" }, mapJob, "/logs");
    expect(script).toContain("#SBATCH --chdir=/scratch\n");
    expect(script).toContain(" exec alpha:traces --inputs SU5QVVRT --key ");
    expect(script).not.toContain(" -C ");
    // A config file of another name is named to the job, which finds it in the bundle under that name.
    expect(batchScript(cfg, { ...launch, inputs: "SU5QVVRT", config: "ci/agents.yaml" }, mapJob, "/logs")).toContain(" --inputs SU5QVVRT --config ci/agents.yaml --key ");
  });

  it("makes a map stage's slices one array, each task picking its slice", () => {
    const cfg = executorSchema.parse({ type: "slurm", max_running: 4 }) as SlurmConfig;
    const script = batchScript(cfg, launch, mapJob, "/logs");
    expect(script).toContain("#SBATCH --array=0-1%4\n");
    expect(script).toContain("#SBATCH --output=/logs/%A_%a.out\n");
    expect(script).toContain("slices=(t1,t2 t3)\n");
    expect(script).toMatch(/ -j 2 --items "\$\{slices\[\$\{SLURM_ARRAY_TASK_ID\}\]\}"\n$/);
    const b64 = /--order (\S+)/.exec(script)![1]!;
    expect(JSON.parse(Buffer.from(b64, "base64").toString("utf8"))).toEqual(order);
  });
});

describe("a job that asks for several GPUs", () => {
  it("tells the trainer to run data-parallel: srun and torchrun on Slurm, torchrun in a Ray task", () => {
    const slurm = (o: object) => executorSchema.parse({ type: "slurm", ...o }) as SlurmConfig;
    expect([slurm({}), slurm({ gres: "gpu" }), slurm({ gres: "gpu:2" }), slurm({ gres: "nvme:1,gpu:a100:4" }), slurm({ gpus: 3 })].map(gpusPerNode)).toEqual([0, 1, 2, 4, 3]);
    expect(batchScript(slurm({ gres: "gpu:2" }), launch, plainJob, "/logs")).toContain('\nexport SABUILD_LAUNCHER=srun SABUILD_PROCS_PER_NODE="${SLURM_GPUS_ON_NODE:-2}"\n');
    expect(batchScript(slurm({ gres: "gpu:1" }), launch, plainJob, "/logs")).not.toContain("SABUILD_LAUNCHER");
    const ray = (n: number) => (driverSpec(executorSchema.parse({ type: "ray", num_gpus: n }) as RayConfig, launch, plainJob) as { runtime_env: { env_vars: Record<string, string> } }).runtime_env.env_vars;
    expect(ray(2)).toMatchObject({ SABUILD_LAUNCHER: "torchrun", SABUILD_PROCS_PER_NODE: "2" });
    expect(ray(1).SABUILD_LAUNCHER).toBeUndefined();
  });

  it("starts the trainer once per GPU: one torchrun per node under srun, rendezvous at the first", () => {
    const args = ["-m", "trainer.sft", "--config", "cfg.json"];
    expect(trainerLaunch("py", args, {})).toEqual({ command: "py", args, processes: 1 });
    expect(trainerLaunch("py", args, { SABUILD_LAUNCHER: "srun", SABUILD_PROCS_PER_NODE: "1" })).toEqual({ command: "py", args, processes: 1 });
    expect(trainerLaunch("py", args, { SABUILD_LAUNCHER: "torchrun", SABUILD_PROCS_PER_NODE: "2" })).toEqual({ command: "py", args: ["-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2", "--standalone", ...args], processes: 2 });
    const two = trainerLaunch("py", args, { SABUILD_LAUNCHER: "srun", SABUILD_PROCS_PER_NODE: "4", SLURM_JOB_NUM_NODES: "2", SLURM_JOB_ID: "1234" });
    expect(two.command).toBe("srun");
    expect(two.processes).toBe(8);
    expect(two.args.slice(0, 5)).toEqual(["--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--kill-on-bad-exit=1", "py"]);
    expect(two.args).toEqual(expect.arrayContaining(["--nnodes=2", "--nproc_per_node=4", "--rdzv_backend=c10d", "--rdzv_id=1234", expect.stringMatching(/^--rdzv_endpoint=\S+:29634$/)]));
  });
});

describe("an item a job stopped", () => {
  it("reads back whole from the job's log, wherever its line falls", () => {
    const log = ["sabuild exec alpha:traces on n1 (3 items), CUDA_VISIBLE_DEVICES=", "[t1] built and uploaded", stopLine("t2", "budget reached", 'Raise "traces.budget": finished items are reused.'), "[t3] built and uploaded", "sabuild-exec-stopped {not json"];
    expect(stopsIn(log)).toEqual({ t2: { why: "budget reached", hint: 'Raise "traces.budget": finished items are reused.' } });
    expect(stopsIn(["[t1] built and uploaded"])).toBeUndefined();
  });
});

describe("the Ray driver's input", () => {
  it("asks for the resources, carries what the job needs from this environment, one task per slice", () => {
    const cfg = executorSchema.parse({ type: "ray", num_gpus: 1, memory: 1000, resources: { A100: 1 }, runtime_env: { env_vars: { HF_HOME: "/scratch" }, pip: ["x"] } }) as RayConfig;
    const spec = driverSpec(cfg, launch, mapJob) as { address: string; options: object; runtime_env: { env_vars: Record<string, string>; pip: string[] }; tasks: { argv: string[]; cwd: string }[] };
    expect(spec.address).toBe("auto");
    expect(spec.options).toEqual({ num_cpus: 1, num_gpus: 1, memory: 1000, resources: { A100: 1 }, max_retries: 0 });
    // The config's variables (the teacher's key) and the remote cache's settings; nothing else of this environment.
    expect(spec.runtime_env).toEqual({ pip: ["x"], env_vars: { OPENAI_API_KEY: "sk-1", SABUILD_REMOTE_CACHE: "http://cache.example/x", SABUILD_REMOTE_CACHE_MODE: "readwrite", HF_HOME: "/scratch" } });
    expect(spec.tasks.map((t) => t.argv.slice(-2))).toEqual([["--items", "t1,t2"], ["--items", "t3"]]);
    expect(spec.tasks[0]!.cwd).toBe("/shared/proj ect");
    const plain = driverSpec(cfg, launch, plainJob) as { tasks: { argv: string[] }[] };
    expect(plain.tasks[0]!.argv).not.toContain("--items");
  });
});

describe("where a stage runs", () => {
  it("is not part of its key: moving stages to an executor changes no key", () => {
    type Plan = { stages: { id: string; key?: string; status: string; executor: string }[] };
    const dir = engineProject({ tasks: 3 });
    expect(sabuildJson(dir, ["build"]).__code).toBe(0);
    const before = sabuildJson<Plan>(dir, ["plan"]);
    expect(before.stages.filter((s) => s.status === "up-to-date" && s.key).map((s) => s.id)).toEqual(expect.arrayContaining(["alpha:tasks", "alpha:traces"]));
    const file = join(dir, "subagents.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        // Every setting of an executor is about where and how a job runs, none about what it
        // computes: resources, how the inputs travel, the launcher of a multi-GPU job.
        .replace("version: 1\n", "version: 1\nexecutors:\n  hpc: { type: slurm, partition: cpu, ship: bundle, workdir: /scratch, gres: 'gpu:2', items_per_task: 3, jobs_per_task: 2 }\n")
        .replace("    until: traces\n", "    until: traces\n    executor: { tasks: hpc, traces: hpc }\n"),
    );
    const after = sabuildJson<Plan>(dir, ["plan"]);
    expect(after.stages.map((s) => [s.id, s.key, s.status])).toEqual(before.stages.map((s) => [s.id, s.key, s.status]));
    expect(Object.fromEntries(after.stages.map((s) => [s.id, s.executor]))).toMatchObject({ "alpha:import": "local", "alpha:tasks": "hpc", "alpha:traces": "hpc" });
    expect(sabuildJson<Plan>(dir, ["plan", "--executor", "local"]).stages.every((s) => s.executor === "local")).toBe(true);
  });
});

describe("sabuild doctor", () => {
  it("checks each executor's client: sbatch here, a Python that cannot import ray there", () => {
    const dir = engineProject({ tasks: 1 });
    const file = join(dir, "subagents.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("version: 1\n", "version: 1\nexecutors:\n  hpc: { type: slurm }\n  rays: { type: ray, python: /nonexistent/python }\n"));
    const checks = sabuildJson<{ checks: { name: string; status: string; detail: string }[] }>(dir, ["doctor"]).checks;
    const slurm = checks.find((c) => c.name === "executor hpc")!;
    expect(slurm.status).toBe(spawnSync("sbatch", ["--version"]).status === 0 ? "ok" : "missing");
    expect(checks.find((c) => c.name === "executor rays")).toMatchObject({ status: "missing", detail: "/nonexistent/python cannot import ray" });
  });
});
