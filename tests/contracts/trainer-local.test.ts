import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runLocal } from "../../src/toolchain/trainer-process.js";
import { PACKAGE_ROOT } from "../../src/toolchain/venv.js";
import { tempDir } from "../helpers.js";
import { PYTHON } from "./support/tiny-gguf.js";
import { describeTrainerRunnerContract } from "./trainer-runner.js";

/** Trainer processes of this test process's runs (their working directory is a contract project). */
function trainerPids(): string[] {
  return readdirSync("/proc").filter((p) => {
    try {
      return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, "utf8").includes("trainer.sft") && readlinkSync(`/proc/${p}/cwd`).includes("sabuild-contract-train-");
    } catch {
      return false;
    }
  });
}

// `runner: local`, as the train stage runs it: the venv's python, the project as the working directory.
describeTrainerRunnerContract("local (the trainer venv)", async () => ({
  run(job, signal, sink) {
    const cfg = join(tempDir("sabuild-contract-cfg-"), "cfg.json");
    const paths = { model: job.model, train_file: join(job.datasetDir, "train.jsonl"), output_dir: join(job.outDir, "adapter"), metrics_file: join(job.outDir, "metrics.json") };
    writeFileSync(cfg, JSON.stringify({ ...paths, ...job.settings }));
    return runLocal({
      python: PYTHON,
      args: ["-m", "trainer.sft", "--config", cfg],
      cwd: job.projectRoot,
      env: { ...process.env, PYTHONPATH: PACKAGE_ROOT, PYTHONSAFEPATH: "1", PYTHONUNBUFFERED: "1" },
      signal,
      sink,
    });
  },
  leftovers: async () => trainerPids(),
}));
