import { spawnSync } from "node:child_process";
import type { ExecutorConfig } from "../config/executor-schema.js";

/** What `sabuild doctor` says of an executor: its engine's client answers here, or how to get one. */
export interface ExecutorCheck {
  status: "ok" | "missing";
  detail: string;
  fix?: string;
}

export function checkExecutor(cfg: ExecutorConfig): ExecutorCheck {
  switch (cfg.type) {
    case "slurm": {
      const r = spawnSync("sbatch", ["--version"], { encoding: "utf8", timeout: 10_000 });
      if (r.status === 0) return { status: "ok", detail: r.stdout.trim() };
      return { status: "missing", detail: "sbatch is not on PATH", fix: "build on a machine that submits to the cluster (a login node), with Slurm's commands on PATH" };
    }
    case "ray": {
      const r = spawnSync(cfg.python, ["-c", "import ray; print(ray.__version__)"], { encoding: "utf8", timeout: 60_000 });
      if (r.status === 0) return { status: "ok", detail: `ray ${r.stdout.trim()} (${cfg.python}), cluster ${cfg.address}` };
      return { status: "missing", detail: `${cfg.python} cannot import ray`, fix: `${cfg.python} -m pip install ray   # or set python: to a Python that has it` };
    }
  }
}
