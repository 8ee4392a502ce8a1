import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A rootful Podman engine for the contract suites, reached through its Docker-compatible API:
 * the sandbox code (dockerode) talks to it unchanged through DOCKER_HOST. Like dockerd in
 * tests/support/docker.ts, the service is started when it is installed but not running, and
 * left running for the next test file (it exits by itself after ten idle minutes).
 */

const DIR = join(tmpdir(), "sabuild-podman");
const SOCKET = join(DIR, "podman.sock");
export const PODMAN_HOST = `unix://${SOCKET}`;

const INSTALL = "apt-get install podman catatonit";

function run(cmd: string, args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, timeout: 120_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function answers(): boolean {
  return run("curl", ["-s", "--max-time", "2", "--unix-socket", SOCKET, "http://podman/_ping"]).out === "OK";
}

function hardLimit(flag: "-Hn" | "-Hu"): number {
  return Number(run("sh", ["-c", `ulimit ${flag}`]).out.trim()) || 1024;
}

async function startService(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  // Rootful podman gives each container RLIMIT_NOFILE and RLIMIT_NPROC above what a process in
  // an unprivileged container (this machine, CI) may set, and runc then fails with "error
  // setting rlimits". Defaults at or below this process's own limits avoid that.
  const conf = join(DIR, "containers.conf");
  writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=${hardLimit("-Hn")}:${hardLimit("-Hn")}", "nproc=${Math.min(4096, hardLimit("-Hu"))}:${Math.min(4096, hardLimit("-Hu"))}"]\n`);
  const log = openSync(join(DIR, "service.log"), "a");
  // Its working directory is its own: conmon, started by the service for each container, works
  // in it, and a service left running from a clone that was since deleted fails every start.
  spawn("podman", ["system", "service", "--time=600", PODMAN_HOST], { cwd: DIR, detached: true, stdio: ["ignore", log, log], env: { ...process.env, CONTAINERS_CONF: conf } }).unref();
  const until = Date.now() + 30_000;
  while (!answers()) {
    if (Date.now() > until) throw new Error(`podman system service did not answer on ${SOCKET} within 30 s (see ${join(DIR, "service.log")})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Ends a service whose working directory was deleted (one started by an older version of this
 * file from a test run's clone): its containers cannot start ("write child: broken pipe").
 */
function stopIfStranded(): void {
  const pids = run("pgrep", ["-f", `podman system service --time=600 ${PODMAN_HOST}`]).out.split(/\s+/).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    let cwd = "";
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (!cwd.endsWith(" (deleted)")) continue;
    try {
      process.kill(Number(pid), "SIGTERM");
    } catch {
      // gone already
    }
    for (let i = 0; i < 50 && answers(); i++) spawnSync("sleep", ["0.1"]);
  }
}

/**
 * A running Podman API service holding the given images, copied from the Docker engine (no
 * registry is reachable from the test machines). Returns the DOCKER_HOST that reaches it.
 */
export async function ensurePodman(dockerImages: string[]): Promise<string> {
  if (!run("podman", ["--version"]).ok) throw new Error(`podman is not installed: ${INSTALL} (the podman contract suites need a real engine)`);
  if (!existsSync("/usr/libexec/podman/catatonit")) throw new Error(`podman has no init binary (sandboxes run with --init): ${INSTALL}`);
  stopIfStranded();
  if (!answers()) await startService();
  for (const image of dockerImages) {
    if (run("podman", ["image", "exists", image]).ok) continue;
    const copied = run("sh", ["-c", 'docker save "$1" | podman load', "sh", image]);
    if (!copied.ok) throw new Error(`cannot copy ${image} from Docker to podman: ${copied.out.slice(-1000)}`);
  }
  return PODMAN_HOST;
}
