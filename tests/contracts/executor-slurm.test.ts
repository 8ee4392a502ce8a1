import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO, sabuildAsync, spawnSabuild } from "../helpers.js";
import { startNginx } from "../nginx.js";
import { describeExecutorContract } from "./executor.js";

/**
 * Against a real one-machine Slurm cluster (tests/support/slurm-cluster.sh: slurm-wlm and munge
 * on loopback, two fake GPUs). bin/test brings it up; this file starts it when it is not
 * running and stops only what it started. Without Slurm the setup fails: never a silent skip.
 */
const CLUSTER = join(REPO, "tests/support/slurm-cluster.sh");

describeExecutorContract("Slurm (sbatch arrays)", async () => {
  const up = spawnSync(CLUSTER, ["up"], { encoding: "utf8" });
  if (up.status !== 0) throw new Error(`no Slurm cluster for the executor tests: ${up.stderr.trim()}`);
  const started = up.stdout.trim() === "started";
  const nginx = await startNginx();
  return {
    executorsYaml: () => [
      "  slurm: { type: slurm, partition: debug, time: '10:00', poll_s: 0.5 }",
      "  slurm-gpu: { type: slurm, gres: 'gpu:1', poll_s: 0.5 }",
    ],
    plain: "slurm",
    map: "slurm",
    gpu: "slurm-gpu",
    failedTask: /Slurm job \d+_\d+ ended FAILED \(exit 1:0\); its log: \/\S+\/executors\/slurm\/\d+_\d+\.out/,
    cacheUrl: (prefix) => `${nginx.url}/${prefix}`,
    deadCacheUrl: "http://127.0.0.1:9/cache",
    cli: sabuildAsync,
    spawn: spawnSabuild,
    // Jobs sabuild submitted (their names start with sabuild-) still queued or running.
    jobsLeft: async () => execFileSync("squeue", ["-h", "-o", "%j"], { encoding: "utf8" }).split("\n").filter((l) => l.startsWith("sabuild-")).length,
    stop: async () => {
      await nginx.stop();
      if (started) spawnSync(CLUSTER, ["down"]);
    },
  };
});
