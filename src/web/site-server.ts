import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childProcess } from "../builtin.js";
import { sha256 } from "../engine/key.js";
import { processAlive } from "../process-alive.js";
import { ownChild } from "../sandbox/cleanup.js";

/**
 * A docs folder served with nginx on loopback while rollouts fetch from it (`web.search.serve`):
 * the local search corpus's result URLs then answer without a server of the user's own, and the
 * bundled example builds from a fresh clone. nginx rather than a Node server because it is what
 * such sites are served with (types, charset, directory redirects as users' servers give them).
 *
 * One server per folder and URL, started at the first live fetch and ended with the process
 * (ownChild). Its pid and its owner's pid live in a folder of its own under the temp dir, so a
 * server left by a sabuild that was killed with -9 is ended by the next one, and a server another
 * live sabuild process (a `serve` beside a `build`) runs for the same folder is shared.
 */

export interface SiteServer {
  /** Resolves once the site answers at its URL; starts it when nobody serves it. */
  ready(): Promise<void>;
}

const servers = new Map<string, SiteServer>();

/** The server of `root` (absolute) at `baseUrl`, one per process. */
export function siteServer(root: string, baseUrl: string, log: (line: string) => void): SiteServer {
  const id = `${root}\0${baseUrl}`;
  let s = servers.get(id);
  if (!s) {
    s = openSiteServer(root, new URL(baseUrl), join(tmpdir(), `sabuild-${process.getuid?.() ?? "user"}`, `site-${sha256(id).slice(0, 16)}`), log);
    servers.set(id, s);
  }
  return s;
}

function openSiteServer(root: string, url: URL, dir: string, log: (line: string) => void): SiteServer {
  let started: Promise<number> | undefined;
  return {
    async ready() {
      const owner = await (started ??= start(root, url, dir, log).catch((e: unknown) => {
        started = undefined;
        throw e;
      }));
      // A server shared with another sabuild process ends with it: then serve it ourselves.
      if (owner !== process.pid && !processAlive(owner)) {
        started = undefined;
        await this.ready();
      }
    },
  };
}

/** Starts nginx (or finds another live sabuild's) and returns the pid of the sabuild that owns it. */
async function start(root: string, url: URL, dir: string, log: (line: string) => void): Promise<number> {
  await mkdir(dir, { recursive: true });
  // localhost is served (and checked) on 127.0.0.1: nginx listens on one address.
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const host = hostname.includes(":") ? hostname : "127.0.0.1";
  const port = Number(url.port);
  const owner = await readPid(join(dir, "owner"));
  const nginx = await readPid(join(dir, "nginx.pid"));
  const ours = nginx !== undefined && (await isServerOf(nginx, dir));
  if (ours && owner !== undefined && owner !== process.pid && processAlive(owner)) return owner;
  if (ours) await endOrphan(nginx, log);
  if (await listening(host, port))
    throw new Error(`cannot serve ${root} at ${url.href}: ${host}:${port} is taken by another server; stop it, or change web.search.base_url's port (or remove web.search.serve when that server publishes the folder)`);
  await writeFile(join(dir, "nginx.conf"), nginxConf({ dir, root, host, port, path: url.pathname }));
  const child = childProcess().spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  const failed = new Promise<string>((resolve) => {
    child.once("error", (e: NodeJS.ErrnoException) =>
      resolve(e.code === "ENOENT" ? "nginx is not installed: `sabuild setup` installs it (apt-get install nginx-light); or serve the folder yourself and remove web.search.serve" : e.message),
    );
    child.once("exit", (code, signal) => void readFile(join(dir, "error.log"), "utf8").then((text) => resolve(`nginx exited (${code ?? signal}): ${lastLines(text)}`), () => resolve(`nginx exited (${code ?? signal})`)));
  });
  ownChild(child);
  await writeFile(join(dir, "owner"), String(process.pid));
  const up = await Promise.race([waitListening(host, port, 10_000), failed]);
  if (up !== true) {
    child.kill("SIGTERM");
    throw new Error(`cannot serve ${root} at ${url.href}: ${up}`);
  }
  log(`serving ${root} at ${url.href} with nginx (web.search.serve) until sabuild exits`);
  return process.pid;
}

/** The nginx configuration of one static site on loopback: files only, no listing, no logs of requests. */
function nginxConf(o: { dir: string; root: string; host: string; port: number; path: string }): string {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(o.dir, t)};`).join("\n  ");
  // As root, nginx's workers would run as nobody, who may not read a project under /root.
  return `${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
daemon off;
pid ${join(o.dir, "nginx.pid")};
error_log ${join(o.dir, "error.log")};
events { worker_connections 64; }
http {
  access_log off;
  server_tokens off;
  ${temp}
  types {
    text/html html htm;
    text/plain txt md markdown rst;
    text/css css;
    application/javascript js;
    application/json json;
    image/png png;
    image/svg+xml svg;
  }
  default_type application/octet-stream;
  charset utf-8;
  server {
    listen ${o.host.includes(":") ? `[${o.host}]` : o.host}:${o.port};
    location ${o.path} {
      alias ${o.root}/;
    }
  }
}
`;
}

async function readPid(path: string): Promise<number | undefined> {
  const text = await readFile(path, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether pid is an nginx master started with this folder as its prefix (not a reused pid). */
async function isServerOf(pid: number, dir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  // nginx rewrites its title ("nginx: master process nginx -p ... -c ..."): look for the conf path.
  return cmdline.includes("nginx") && cmdline.includes(join(dir, "nginx.conf"));
}

/** Ends a server whose sabuild died without ending it (kill -9), so its port is free again. */
async function endOrphan(pid: number, log: (line: string) => void): Promise<void> {
  log(`ending nginx ${pid}, left serving a docs site by a sabuild process that is gone`);
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const until = Date.now() + 5000;
  while (processAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function waitListening(host: string, port: number, timeoutMs: number): Promise<true | string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await listening(host, port)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return `nginx did not listen on ${host}:${port} within ${timeoutMs / 1000} s`;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-3).join("\n") || "no error log";
}
