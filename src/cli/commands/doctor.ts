import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, relative, resolve } from "node:path";
import type { ProjectConfig } from "../../config/index.js";
import { openProject } from "../../project.js";
import { parseCommandArgs } from "../args.js";
import { printJson } from "../output.js";

export type CheckStatus = "ok" | "missing" | "outdated" | "warning";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** The command (or edit) that fixes it. */
  fix?: string;
}

export const doctorHelp = `sabuild doctor [--json]
  Reports what the pipeline needs on this machine: Node, the Docker engine and base images, the
  sandbox images, the trainer's Python environment, the llama.cpp tools, the base models, the
  teacher's environment variables, nginx when sabuild serves a docs folder (web.search.serve) and
  the executors' clients (sbatch, Python's ray); for each missing or outdated one, the command that fixes it.
  Exit code 1 when something is missing. \`sabuild setup\` installs or builds what it can.`;

const MARK: Record<CheckStatus, string> = { ok: "✓", missing: "✗", outdated: "!", warning: "!" };

/** Every check, without installing anything. */
export async function runChecks(project: ProjectConfig): Promise<Check[]> {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split(".")[0]);
  checks.push(major >= 22 ? { name: "node", status: "ok", detail: process.version } : { name: "node", status: "missing", detail: `${process.version} is older than 22`, fix: "run sabuild through bin/sabuild (it brings Node 24), or install Node >= 22" });

  // Docker: the sandboxes, and llama.cpp's binaries when they come from the managed image.
  let docker: import("dockerode") | undefined;
  try {
    const { dockerClient } = await import("../../sandbox/docker.js");
    docker = await dockerClient();
    const v = await docker.version();
    checks.push({ name: "docker", status: "ok", detail: `engine ${v.Version} at ${process.env.DOCKER_HOST || "unix:///var/run/docker.sock"}` });
  } catch (e) {
    checks.push({ name: "docker", status: "missing", detail: (e as Error).message.split("\n")[0]!, fix: "apt-get install docker.io && (setsid dockerd >/var/log/dockerd.log 2>&1 &)   # or: sabuild setup" });
  }
  const bases = [...new Set(project.subagents.map((s) => s.sandbox.base_image))];
  const recipes = [...new Map(project.subagents.map((s) => [`${s.sandbox.recipe}\0${s.sandbox.base_image}`, s])).values()];
  if (docker) {
    for (const base of bases) {
      const present = await docker.getImage(base).inspect().then(() => true, () => false);
      checks.push(present ? { name: `image ${base}`, status: "ok", detail: "present" } : { name: `image ${base}`, status: "missing", detail: "the sandbox recipes build FROM it", fix: `docker pull ${base}, or: debootstrap --variant=minbase bookworm /tmp/root && tar -C /tmp/root -c . | docker import - ${base}   # or: sabuild setup` });
    }
    const { locateRecipe, contextDigest } = await import("../../sandbox/recipe.js");
    for (const s of recipes) {
      const r = locateRecipe(s.sandbox.recipe, project.root);
      if (!r) {
        checks.push({ name: `recipe ${s.sandbox.recipe}`, status: "missing", detail: `no recipes/${s.sandbox.recipe}/ in the project or in sabuild`, fix: `fix sandbox.recipe of ${s.name} in subagents.yaml` });
        continue;
      }
      const tag = `sabuild/${s.sandbox.recipe}:${contextDigest(r.dir, s.sandbox.base_image).slice(0, 12)}`;
      const present = await docker.getImage(tag).inspect().then(() => true, () => false);
      checks.push(present ? { name: `sandbox ${s.sandbox.recipe}`, status: "ok", detail: tag } : { name: `sandbox ${s.sandbox.recipe}`, status: "warning", detail: `${tag} is not built yet (the first build makes it)`, fix: "sabuild setup (or just sabuild build)" });
    }
  }

  const { readVenv, venvDir } = await import("../../toolchain/venv.js");
  const dir = venvDir(project.root);
  const venv = readVenv(dir);
  if (venv) checks.push({ name: "trainer venv", status: "ok", detail: `${relative(project.root, dir) || dir}: ${["torch", "transformers", "peft", "trl"].map((p) => `${p} ${venv.versions[p] ?? "?"}`).join(", ")}` });
  else checks.push({ name: "trainer venv", status: existsSync(dir) ? "outdated" : "missing", detail: existsSync(dir) ? "trainer/requirements.txt changed since it was made" : `${relative(project.root, dir) || dir} does not exist (the train stage makes it)`, fix: "sabuild setup" });

  const { checkLlamaTools } = await import("../../toolchain/llamacpp.js");
  const report = await checkLlamaTools(project.root, project.subagents[0]?.export.tools ?? {});
  for (const [tool, st] of Object.entries(report.tools)) {
    if (tool === "convert_lora" && !st.ready) {
      // Not needed: sabuild writes LoRA GGUFs itself for the bases whose conversion only renames weights.
      checks.push({ name: `llama.cpp ${tool}`, status: "ok", detail: `built in: trainer.lora_gguf (qwen2 and qwen3 bases); ${st.detail}` });
      continue;
    }
    checks.push({ name: `llama.cpp ${tool}`, status: st.ready ? "ok" : "missing", detail: st.detail, ...(st.ready ? {} : { fix: "sabuild setup (Debian sid's llama.cpp), or set export.tools in subagents.yaml" }) });
  }

  for (const model of [...new Set(project.subagents.map((s) => s.train.base_model))]) {
    const local = resolve(project.root, model);
    if (existsSync(join(local, "config.json"))) checks.push({ name: `base model ${model}`, status: "ok", detail: "local directory" });
    else if (model.startsWith(".") || model.startsWith("/") || existsSync(local) || model.split("/").length > 2) {
      checks.push({ name: `base model ${model}`, status: "missing", detail: "no model directory (config.json) there", fix: `put a Hugging Face checkpoint there, or: sabuild setup --tiny-model ${model}   # a tiny random Qwen3 for trying the pipeline` });
    } else {
      const cached = spawnSync("python3", ["-c", "import sys,os;p=os.path.expanduser('~/.cache/huggingface/hub/models--'+sys.argv[1].replace('/','--'));print(os.path.isdir(p))", model], { encoding: "utf8" }).stdout.trim() === "True";
      checks.push(cached ? { name: `base model ${model}`, status: "ok", detail: "in the Hugging Face cache" } : { name: `base model ${model}`, status: "warning", detail: "a Hugging Face id not in the local cache: it is downloaded when training starts (needs network)", fix: `huggingface-cli download ${model} --local-dir models/${model.split("/").pop()}, then set base_model to that directory` });
    }
  }

  const served = project.subagents.filter((s) => s.web?.search?.serve).map((s) => s.name);
  if (served.length) {
    const nginx = spawnSync("nginx", ["-v"], { encoding: "utf8" });
    checks.push(
      nginx.error
        ? { name: "nginx", status: "missing", detail: `${served.join(", ")} serve their docs folder with it (web.search.serve)`, fix: "apt-get install nginx-light   # or: sabuild setup" }
        : { name: "nginx", status: "ok", detail: `${nginx.stderr.trim().replace(/^nginx version: /, "")}, serves the docs of ${served.join(", ")}` },
    );
  }

  // Variables a stand-in teacher's unused endpoint settings name do not matter.
  const refs = new Set<string>();
  const collect = (text: string | undefined): void => {
    for (const m of (text ?? "").matchAll(/\$\{(\w+)\}/g)) refs.add(m[1]!);
  };
  for (const s of project.subagents) {
    if (!s.teacher.standin) [s.teacher.base_url, s.teacher.api_key, ...Object.values(s.teacher.headers ?? {})].forEach(collect);
    if (s.eval.judge && !(s.teacher.standin && s.eval.judge.base_url === s.teacher.base_url)) [s.eval.judge.base_url, s.eval.judge.api_key].forEach(collect);
  }
  if (project.remoteCache) [project.remoteCache.url, project.remoteCache.hmac_key, ...Object.values(project.remoteCache.headers)].forEach(collect);
  const missingEnv = [...refs].filter((v) => process.env[v] === undefined).sort();
  const standins = project.subagents.filter((s) => s.teacher.standin).map((s) => s.name);
  if (standins.length) checks.push({ name: "teacher", status: "warning", detail: `${standins.join(", ")} use a scripted stand-in teacher (teacher.standin), not a model` });
  if (missingEnv.length) checks.push({ name: "environment", status: "warning", detail: `not set: ${missingEnv.join(", ")} (subagents.yaml refers to them)`, fix: `export ${missingEnv[0]}=...` });
  if (Object.keys(project.executors).length) {
    const { checkExecutor } = await import("../../executors/doctor-checks.js");
    for (const [name, cfg] of Object.entries(project.executors)) checks.push({ name: `executor ${name}`, ...checkExecutor(cfg) });
  }
  return checks;
}

export function printChecks(checks: Check[]): void {
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) {
    console.log(`${MARK[c.status]} ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix && c.status !== "ok") console.log(`  ${" ".repeat(width)}  fix: ${c.fix}`);
  }
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("doctor", argv, {});
  if (args.help) return (console.log(doctorHelp), 0);
  const session = await openProject(args.global);
  const checks = await runChecks(session.project);
  const ok = !checks.some((c) => c.status === "missing" || c.status === "outdated");
  if (args.global.json) printJson({ ok, checks });
  else printChecks(checks);
  return ok ? 0 : 1;
}
