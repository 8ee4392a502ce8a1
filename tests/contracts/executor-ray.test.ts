import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, tempDir, type CliResult } from "../helpers.js";
import { nginxConf } from "../support/nginx-conf.mjs";
import { describeExecutorContract } from "./executor.js";

/**
 * Against a real Ray head (pip's ray 2.58, core only) started by this file. Ray binds the
 * machine's external address whatever --node-ip-address says, so the head, the remote cache
 * and the builds all run in a private network namespace (unshare -n, entered with nsenter),
 * where the only address is loopback. bin/test installs the venv; without it the setup fails.
 */
const VENV = process.env.SABUILD_RAY_VENV ?? join(tmpdir(), "sabuild-test-ray-venv");
const PORT = 8790;

function inNs(pid: number, cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
  return spawn("nsenter", ["-t", String(pid), "-n", cmd, ...args], { cwd: opts.cwd, env: { ...process.env, CI: "1", ...opts.env } });
}

function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

describeExecutorContract("Ray (core API tasks)", async () => {
  if (!existsSync(join(VENV, "bin/ray"))) throw new Error(`no Ray for the executor tests: ${VENV}/bin/ray is missing (bin/test installs it: pip install ray==2.58.0)`);
  const holder = spawn("unshare", ["-n", "sleep", "infinity"], { stdio: "ignore", detached: true });
  const ns = holder.pid!;
  await new Promise((r) => setTimeout(r, 200));
  execFileSync("nsenter", ["-t", String(ns), "-n", "ip", "link", "set", "lo", "up"]);
  const work = tempDir("sabuild-ray-");
  const rayTmp = join(work, "ray");
  const started = spawnSync("nsenter", ["-t", String(ns), "-n", join(VENV, "bin/ray"), "start", "--head", "--port=6379", "--num-cpus=4", "--num-gpus=1", "--disable-usage-stats", `--temp-dir=${rayTmp}`], { encoding: "utf8" });
  if (started.status !== 0) throw new Error(`ray start failed:\n${started.stderr}${started.stdout}`);
  const data = join(work, "data");
  mkdirSync(data);
  writeFileSync(join(work, "nginx.conf"), nginxConf({ dir: work, data, port: PORT }));
  const nginx = inNs(ns, "nginx", ["-p", work, "-c", join(work, "nginx.conf")]);
  const url = `http://127.0.0.1:${PORT}`;
  for (let i = 0; i < 100 && spawnSync("nsenter", ["-t", String(ns), "-n", "curl", "-s", "-o", "/dev/null", `${url}/`]).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  const python = join(VENV, "bin/python");
  const executor = (name: string, extra: string, env: Record<string, string>): string =>
    `  ${name}: { type: ray, address: '127.0.0.1:6379', python: ${python}, poll_s: 0.5, runtime_env: { env_vars: ${JSON.stringify(env)} }${extra} }`;
  return {
    executorsYaml: (env) => [executor("ray", "", env), executor("ray-gpu", ", num_gpus: 1", env)],
    plain: "ray",
    map: "ray",
    gpu: "ray-gpu",
    shipped: (env, command) => executor("shipped", `, ship: bundle, items_per_task: 2, sabuild: '${command}'`, env),
    failedTask: /Ray ray task \d+ failed \(exit 1\)/,
    cacheUrl: (prefix) => `${url}/${prefix}`,
    deadCacheUrl: "http://127.0.0.1:9/cache",
    cli: (cwd, args, env) => collect(inNs(ns, process.execPath, [CLI, ...args], { cwd, env })),
    spawn: (cwd, args, env) => {
      const child = inNs(ns, process.execPath, [CLI, ...args], { cwd, env });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      return Object.assign(child, { output: () => out });
    },
    // The tasks' sabuild exec processes (Ray's own task table needs the dashboard's state API).
    jobsLeft: async () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) => / exec alpha:\S+ .*--order /.test(l)).length,
    stop: async () => {
      spawnSync("nsenter", ["-t", String(ns), "-n", join(VENV, "bin/ray"), "stop", "--force"]);
      nginx.kill("SIGTERM");
      process.kill(ns, "SIGTERM");
    },
  };
}, { gpus: true, bundle: true });
