import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineProject, runLog } from "../engine-project.js";
import { exited, REPO, sabuild, sabuildAsync, spawnSabuild, waitFor } from "../helpers.js";
import { startNginx, type Nginx } from "../nginx.js";
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
    shipped: (_env, command) => `  shipped: { type: slurm, ship: bundle, items_per_task: 2, poll_s: 0.5, sabuild: '${command}' }`,
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
}, { gpus: true, bundle: true });

describe("Slurm arrays", () => {
  let nginx: Nginx;
  let started = false;
  beforeAll(async () => {
    const up = spawnSync(CLUSTER, ["up"], { encoding: "utf8" });
    if (up.status !== 0) throw new Error(`no Slurm cluster for the executor tests: ${up.stderr.trim()}`);
    started = up.stdout.trim() === "started";
    nginx = await startNginx();
  }, 120_000);
  afterAll(async () => {
    await nginx?.stop();
    if (started) spawnSync(CLUSTER, ["down"]);
  });

  it("shards a map stage into an array; after one task is cancelled, the next build runs only its slice", async () => {
    const dir = engineProject({ tasks: 6 });
    const file = join(dir, "subagents.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        .replace("version: 1\n", "version: 1\nexecutors:\n  slurm: { type: slurm, items_per_task: 2, max_running: 1, poll_s: 0.3 }\n")
        .replace("    until: traces\n", "    until: traces\n    executor: { traces: slurm }\n"),
    );
    const env = { SABUILD_REMOTE_CACHE: `${nginx.url}/array`, RUN_LOG: join(dir, "runs.log") };
    const child = spawnSabuild(dir, ["build", "--verbose"], { ...env, SLOW_MS: "1500" });
    await waitFor(() => /submitted Slurm job \d+ \(array of 3\)/.test(child.output()), 60_000, "the array job");
    const job = /submitted Slurm job (\d+)/.exec(child.output())![1]!;
    // %1: one task at a time, so task 2 is still pending when task 0 has finished.
    await waitFor(() => runLog(env.RUN_LOG).length >= 2, 60_000, "the first task");
    execFileSync("scancel", [`${job}_2`]);
    expect(await exited(child)).toBe(1);
    expect(child.output()).toMatch(new RegExp(`Slurm job ${job}_2 (ended CANCELLED|left the queue without an end state)`));
    const kept = runLog(env.RUN_LOG).sort();
    expect(kept).toHaveLength(4);
    const again = sabuild(dir, ["build"], env);
    expect(again.code, again.stderr).toBe(0);
    const rerun = runLog(env.RUN_LOG).slice(4).sort();
    expect(rerun).toEqual(["t1", "t2", "t3", "t4", "t5", "t6"].filter((t) => !kept.includes(t)));
  }, 180_000);
});
