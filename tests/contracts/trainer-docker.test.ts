import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { buildRecipeImage } from "../../src/sandbox/index.js";
import { CONTAINER, hostHfHome, runContainer, trainContainerSpec } from "../../src/toolchain/trainer-container.js";
import { PACKAGE_ROOT } from "../../src/toolchain/venv.js";
import { tempDir } from "../helpers.js";
import { dockerCli, ensureDocker } from "../support/docker.js";
import { PYTHON } from "./support/tiny-gguf.js";
import { describeTrainerRunnerContract } from "./trainer-runner.js";

/**
 * `runner: docker`, as the train stage runs it (trainContainerSpec, runContainer). The trainer
 * image is the python-repo recipe's Debian with the trainer venv and its interpreter mounted at
 * their host paths, first on PATH: the packages of trainer/requirements.txt at their pinned
 * versions, which cannot be installed into an image here (no pip index is reachable from the
 * test machines). Mounting only site-packages under Debian's own python3 is not enough: datasets
 * (through dill) fails to pickle on another patch release of Python.
 */

async function trainerImage(): Promise<{ image: string; mounts: string[] }> {
  await ensureDocker();
  const base = await buildRecipeImage({ recipe: "python-repo" });
  const venv = execFileSync(PYTHON, ["-c", "import sys; print(sys.prefix); print(sys.base_prefix)"], { encoding: "utf8" }).trim().split("\n");
  const dockerfile = `FROM ${base.id}\nENV PATH=${venv[0]}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`;
  const tag = `sabuild-test/trainer:${createHash("sha256").update(dockerfile).digest("hex").slice(0, 12)}`;
  if (!dockerCli(["image", "inspect", tag]).ok) {
    const built = dockerCli(["build", "-t", tag, "-"], dockerfile);
    if (!built.ok) throw new Error(`cannot build ${tag}: ${built.out.slice(-2000)}`);
  }
  // A venv of Debian's own python3 needs only itself: the image has the same /usr.
  return { image: tag, mounts: [...new Set(venv)].filter((dir) => dir !== "/usr").map((dir) => `${dir}:${dir}:ro`) };
}

describeTrainerRunnerContract("docker (a trainer container)", async () => {
  const { image, mounts } = await trainerImage();
  const docker = new Docker();
  return {
    run(job, signal, sink) {
      const cfgDir = tempDir("sabuild-contract-cfg-");
      const paths = { model: job.model, train_file: `${CONTAINER.dataset}/train.jsonl`, output_dir: `${CONTAINER.out}/adapter`, metrics_file: `${CONTAINER.out}/metrics.json` };
      writeFileSync(join(cfgDir, "cfg.json"), JSON.stringify({ ...paths, ...job.settings }));
      const hfHome = hostHfHome();
      mkdirSync(hfHome, { recursive: true });
      const spec = trainContainerSpec({
        image,
        projectRoot: job.projectRoot,
        packageRoot: PACKAGE_ROOT,
        datasetDir: job.datasetDir,
        outDir: job.outDir,
        cfgDir,
        hfHome,
        gpus: false,
        user: `${process.getuid!()}:${process.getgid!()}`,
      });
      spec.HostConfig!.Binds!.push(...mounts);
      return runContainer(docker, spec, signal, sink);
    },
    leftovers: async () => (await docker.listContainers({ all: true, filters: { ancestor: [image] } })).map((c) => c.Id),
  };
});
