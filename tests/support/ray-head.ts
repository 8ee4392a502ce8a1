import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, tempDir, type CliResult } from "../helpers.js";
import { nginxConf } from "./nginx-conf.mjs";

/**
 * A real Ray head (pip's ray 2.58, core only) and the remote cache's nginx, for the Ray executor
 * tests. Ray binds the machine's external address whatever --node-ip-address says, so the head,
 * the remote cache and the builds all run in a private network namespace (unshare -n, entered
 * with nsenter), where the only address is loopback. Docker's socket is a file, so sandboxes
 * still start from inside it. bin/test installs the venv; without it this fails, saying so.
 */
export interface RayHead {
  /** The head's GCS address, for `executors: { type: ray, address }`. */
  address: string;
  /** A Python with the ray package: the executor's `python`. */
  python: string;
  /** The remote cache (nginx in the namespace) under a URL prefix. */
  cacheUrl(prefix: string): string;
  /** The CLI run inside the namespace. */
  cli(cwd: string, args: string[], env: Record<string, string>): Promise<CliResult>;
  spawn(cwd: string, args: string[], env: Record<string, string>): ChildProcess & { output(): string };
  stop(): Promise<void>;
}

const VENV = process.env.SABUILD_RAY_VENV ?? join(tmpdir(), "sabuild-test-ray-venv");
// Fixed: the namespace is the test's own, nothing else listens in it.
const CACHE_PORT = 8790;
const GCS_PORT = 6379;

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

export async function startRayHead(opts: { cpus: number; gpus: number }): Promise<RayHead> {
  if (!existsSync(join(VENV, "bin/ray"))) throw new Error(`no Ray for the executor tests: ${VENV}/bin/ray is missing (bin/test installs it: pip install ray==2.58.0)`);
  const holder = spawn("unshare", ["-n", "sleep", "infinity"], { stdio: "ignore", detached: true });
  const ns = holder.pid!;
  await new Promise((r) => setTimeout(r, 200));
  execFileSync("nsenter", ["-t", String(ns), "-n", "ip", "link", "set", "lo", "up"]);
  const work = tempDir("sabuild-ray-");
  const rayTmp = join(work, "ray");
  const ray = join(VENV, "bin/ray");
  const started = spawnSync("nsenter", ["-t", String(ns), "-n", ray, "start", "--head", `--port=${GCS_PORT}`, `--num-cpus=${opts.cpus}`, `--num-gpus=${opts.gpus}`, "--disable-usage-stats", `--temp-dir=${rayTmp}`], { encoding: "utf8" });
  if (started.status !== 0) {
    process.kill(ns, "SIGTERM");
    throw new Error(`ray start failed:\n${started.stderr}${started.stdout}`);
  }
  const data = join(work, "data");
  mkdirSync(data);
  writeFileSync(join(work, "nginx.conf"), nginxConf({ dir: work, data, port: CACHE_PORT }));
  const nginx = inNs(ns, "nginx", ["-p", work, "-c", join(work, "nginx.conf")]);
  const url = `http://127.0.0.1:${CACHE_PORT}`;
  for (let i = 0; i < 100 && spawnSync("nsenter", ["-t", String(ns), "-n", "curl", "-s", "-o", "/dev/null", `${url}/`]).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  return {
    address: `127.0.0.1:${GCS_PORT}`,
    python: join(VENV, "bin/python"),
    cacheUrl: (prefix) => `${url}/${prefix}`,
    cli: (cwd, args, env) => collect(inNs(ns, process.execPath, [CLI, ...args], { cwd, env })),
    spawn: (cwd, args, env) => {
      const child = inNs(ns, process.execPath, [CLI, ...args], { cwd, env });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      return Object.assign(child, { output: () => out });
    },
    stop: async () => {
      spawnSync("nsenter", ["-t", String(ns), "-n", ray, "stop", "--force"]);
      nginx.kill("SIGTERM");
      process.kill(ns, "SIGTERM");
    },
  };
}
