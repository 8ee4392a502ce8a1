// What the container engine does for a benchmark, and what it costs in CPU, measured per process.
//
// - recordDockerApi: a pass-through proxy on a unix socket (DOCKER_HOST=unix://<socket> for the
//   process under test) that records every Docker API call: method, path, the JSON body of
//   creates, the stdin of hijacked execs. itemShapes() turns a recording into each container's
//   operations (create, start, the execs with their exact argv, user, workdir, env and stdin,
//   exec inspects, the OOM event subscription, the removal), so a ceiling can replay what an item
//   really did instead of a guess.
// - EngineCpu: CPU time of the processes that do the engine's work, from /proc/<pid>/stat (utime +
//   stime): dockerd and containerd (whole daemons: shared with anything else using Docker), and the
//   containerd shims of our containers only (told apart by the owner-pid label in the container's
//   config.v2.json), whose own time includes the runc calls and the container's processes they
//   reap (the shim is their subreaper). Shims exit with their container, so they are sampled every
//   20 ms while alive: the last <20 ms of each (its teardown) is missed, a small undercount.
// - engineCeiling: replays shapes in a child process (bench/engine-replay.mjs: sabuild's own
//   sandbox code, as rollouts.mjs's floor does) and returns the CPU per replayed item: the child's
//   (sabuild's client side), the daemons', the shims' and the whole machine's (/proc/stat).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineCpuMs, round } from "./lib.mjs";

const TICK_MS = (1000 / 100);
const dockerSocket = () => (process.env.DOCKER_HOST || "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");

/** A pass-through proxy of the Docker API that records each call; close() stops it. */
export async function recordDockerApi(socketPath) {
  if (process.env.DOCKER_HOST && !process.env.DOCKER_HOST.startsWith("unix://")) throw new Error(`the recording proxy needs a local engine on a unix socket; DOCKER_HOST is ${process.env.DOCKER_HOST}`);
  const target = dockerSocket();
  const calls = [];
  const json = (buf) => {
    try {
      return buf.length ? JSON.parse(buf.toString("utf8")) : undefined;
    } catch {
      return undefined;
    }
  };
  const server = http.createServer((req, res) => {
    const body = [];
    req.on("data", (c) => body.push(c));
    req.on("end", () => {
      const call = { method: req.method, path: req.url, body: json(Buffer.concat(body)) };
      calls.push(call);
      const up = http.request({ socketPath: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
        call.status = r.statusCode;
        res.writeHead(r.statusCode, r.headers);
        // A stream (GET /events) sends nothing until something happens: its headers go now.
        res.flushHeaders();
        // Creates answer {"Id": ...}: kept, so execs can be tied to their container.
        if (req.method === "POST" && /\/(create|exec)$/.test(req.url.split("?")[0])) {
          const out = [];
          r.on("data", (c) => out.push(c));
          r.on("end", () => (call.response = json(Buffer.concat(out))));
        }
        r.pipe(res);
      });
      up.on("error", () => res.destroy());
      res.on("close", () => up.destroy());
      up.end(Buffer.concat(body));
    });
  });
  // An exec's start is hijacked (Upgrade: tcp): the raw streams are piped both ways and the
  // client's bytes beyond the request body are the command's stdin.
  server.on("upgrade", (req, sock, head) => {
    const call = { method: req.method, path: req.url, stdin: [] };
    calls.push(call);
    const length = Number(req.headers["content-length"] ?? 0);
    let seen = 0;
    const note = (c) => {
      const skip = Math.max(0, Math.min(c.length, length - seen));
      seen += c.length;
      if (c.length > skip) call.stdin.push(c.subarray(skip));
    };
    const up = net.connect(target, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${raw}\r\n`);
      note(head);
      up.write(head);
      sock.on("data", note);
      sock.pipe(up);
      up.pipe(sock);
    });
    const end = () => (sock.destroy(), up.destroy());
    up.on("error", end);
    sock.on("error", end);
    up.on("close", end);
    sock.on("close", end);
  });
  rmSync(socketPath, { force: true });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  return {
    dockerHost: `unix://${socketPath}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** The API path without the version prefix and query: /v1.41/containers/x/start?a -> /containers/x/start. */
const route = (path) => path.split("?")[0].replace(/^\/v[\d.]+/, "");

/**
 * Each container's operations in a recording, in order: what a replay must do to cost what the
 * item cost. Calls that are not about one container (ping, image lookups, the owner reaping's
 * list) are counted apart as `other`: they happen once per process, not per item.
 */
export function itemShapes(calls) {
  const byContainer = new Map();
  const execOwner = new Map();
  const other = {};
  const shape = (id) => {
    let s = byContainer.get(id);
    if (!s) byContainer.set(id, (s = { id, labels: {}, ops: { create: 0, start: 0, events: 0, exec_create: 0, exec_start: 0, exec_inspect: 0, remove: 0, other: 0 }, execs: [] }));
    return s;
  };
  for (const c of calls) {
    const r = route(c.path);
    let m;
    if (c.method === "POST" && r === "/containers/create" && c.response?.Id) {
      const s = shape(c.response.Id);
      s.ops.create++;
      s.labels = c.body?.Labels ?? {};
    } else if (c.method === "GET" && r === "/events") {
      const filters = JSON.parse(new URLSearchParams(c.path.split("?")[1] ?? "").get("filters") ?? "{}");
      const id = filters.container?.[0];
      if (id && byContainer.has(id)) shape(id).ops.events++;
      else other["GET /events"] = (other["GET /events"] ?? 0) + 1;
    } else if ((m = /^\/containers\/([^/]+)\/(start|exec)$/.exec(r)) && c.method === "POST" && byContainer.has(m[1])) {
      const s = shape(m[1]);
      if (m[2] === "start") s.ops.start++;
      else {
        s.ops.exec_create++;
        const exec = { body: c.body, stdin: undefined };
        s.execs.push(exec);
        if (c.response?.Id) execOwner.set(c.response.Id, { s, exec });
      }
    } else if ((m = /^\/containers\/([^/]+)$/.exec(r)) && c.method === "DELETE" && byContainer.has(m[1])) {
      shape(m[1]).ops.remove++;
    } else if ((m = /^\/exec\/([^/]+)\/(start|json)$/.exec(r)) && execOwner.has(m[1])) {
      const { s, exec } = execOwner.get(m[1]);
      if (m[2] === "json") s.ops.exec_inspect++;
      else {
        s.ops.exec_start++;
        const stdin = Buffer.concat(c.stdin ?? []);
        if (exec.body?.AttachStdin) exec.stdin = stdin.toString("base64");
      }
    } else if ((m = /^\/containers\/([^/]+)\//.exec(r)) && byContainer.has(m[1])) {
      shape(m[1]).ops.other++;
    } else {
      const k = `${c.method} ${r.replace(/[0-9a-f]{64}/g, "<id>")}`;
      other[k] = (other[k] ?? 0) + 1;
    }
  }
  return { containers: [...byContainer.values()], other };
}

/** An exec as recorded, as the sandbox session's exec() takes it (the timeout wrapper taken off). */
export function execOf(body) {
  const cmd = body.Cmd;
  // runExec's wrapper: /bin/sh -c WRAPPER sh <mark> <seconds> ...argv
  if (!(cmd[0] === "/bin/sh" && cmd[1] === "-c" && cmd[3] === "sh" && /^[0-9a-f]{12}$/.test(cmd[4]))) throw new Error(`an exec not made by sabuild's sandbox: ${JSON.stringify(cmd).slice(0, 200)}`);
  return {
    argv: cmd.slice(6),
    timeoutMs: Math.round(Number(cmd[5]) * 1000),
    user: body.User,
    cwd: body.WorkingDir,
    ...(body.Env?.length ? { env: Object.fromEntries(body.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])) } : {}),
  };
}

function statOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const v = f.slice(f.lastIndexOf(")") + 2).split(" ");
    // utime stime cutime cstime are fields 14-17 (1-based), 12-15 here
    return { own: (Number(v[11]) + Number(v[12])) * TICK_MS, children: (Number(v[13]) + Number(v[14])) * TICK_MS };
  } catch {
    return undefined;
  }
}

const commOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

/**
 * CPU of the engine's processes, per process: dockerd, containerd and the shims of containers
 * whose owner pid (sabuild.owner.pid) is one of `owners` (a function: the build's pid is known
 * only once it is spawned). Call start() before and stop() after; snapshot() at any time.
 */
export class EngineCpu {
  constructor(owners) {
    this.owners = owners;
    this.daemons = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && ["dockerd", "containerd"].includes(commOf(p)));
    this.seen = new Set(readdirSync("/proc"));
    this.shims = new Map(); // pid -> { base, last, container }
    this.ignored = new Set();
  }

  start() {
    // Shims alive now count from what they have spent so far (another run's, or a calibration's).
    for (const pid of this.seen) {
      if (!/^\d+$/.test(pid) || !commOf(pid).startsWith("containerd-shim")) continue;
      const s = statOf(pid);
      if (s) this.shims.set(pid, { base: s.own + s.children, last: s.own + s.children, ours: this.isOurs(pid), alive: true });
    }
    this.timer = setInterval(() => this.poll(), 20);
    return this;
  }

  /** The container id of one of our containers' shims, or undefined. */
  isOurs(pid) {
    try {
      const id = /-id\0([0-9a-f]{64})/.exec(readFileSync(`/proc/${pid}/cmdline`, "utf8"))?.[1];
      if (!id) return undefined;
      const config = `/var/lib/docker/containers/${id}/config.v2.json`;
      if (!existsSync(config)) return undefined;
      const owner = JSON.parse(readFileSync(config, "utf8")).Config?.Labels?.["sabuild.owner.pid"];
      return this.owners().has(owner) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  poll() {
    for (const [pid, s] of this.shims) {
      if (!s.alive) continue;
      const now = statOf(pid);
      if (now) s.last = now.own + now.children;
      else s.alive = false;
    }
    for (const pid of readdirSync("/proc")) {
      if (this.seen.has(pid)) continue;
      this.seen.add(pid);
      if (!/^\d+$/.test(pid) || !commOf(pid).startsWith("containerd-shim")) continue;
      const s = statOf(pid);
      if (s) this.shims.set(pid, { base: 0, last: s.own + s.children, ours: this.isOurs(pid), alive: true });
    }
  }

  snapshot() {
    this.poll();
    let shims = 0;
    let others = 0;
    const containers = new Set();
    for (const s of this.shims.values()) {
      if (s.ours) {
        shims += s.last - s.base;
        containers.add(s.ours);
      } else others += s.last - s.base;
    }
    const count = containers.size;
    const daemon = (name) => this.daemons.filter((p) => commOf(p) === name).reduce((n, p) => n + (statOf(p)?.own ?? 0), 0);
    return { machine: machineCpuMs(), dockerd: daemon("dockerd"), containerd: daemon("containerd"), shims, shim_containers: count, other_shims: others };
  }

  stop() {
    clearInterval(this.timer);
  }
}

/** The difference of two snapshots, per item. */
export function perItem(from, to, n) {
  const d = {};
  for (const k of ["machine", "dockerd", "containerd", "shims", "other_shims"]) d[k] = (to[k] - from[k]) / n;
  d.shim_containers = to.shim_containers - from.shim_containers;
  return d;
}

/**
 * The engine ceiling for a mix of item shapes: `runs` rounds of the mix replayed one container
 * after another in a child process with sabuild's sandbox code, after one warm-up round, in
 * batches of `batch` rounds: per batch, the CPU per item of the child (sabuild's client side: the
 * sandbox code and dockerode), the daemons, our shims and the whole machine. Per process the
 * median batch counts; by machine the lowest (other work on a shared machine only adds).
 * With `concurrency` above 1 the replay keeps that many containers in flight (the warm-up too),
 * and per_item.wall_ms is the wall time per item: 1000 / it is the rate of a harness with no
 * work of its own at that concurrency.
 */
export async function engineCeiling(image, shapes, runs, { batch = runs, concurrency = 1 } = {}) {
  const script = join(dirname(fileURLToPath(import.meta.url)), "engine-replay.mjs");
  const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "inherit"] });
  const meter = new EngineCpu(() => new Set([String(child.pid)])).start();
  const lines = [];
  let wake;
  let buffered = "";
  child.stdout.on("data", (c) => {
    buffered += c;
    let i;
    while ((i = buffered.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
      wake?.();
    }
  });
  const exited = new Promise((resolve, reject) => child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bench/engine-replay.mjs exited ${code}`)))));
  exited.catch(() => wake?.());
  const next = async () => {
    while (!lines.length) {
      await Promise.race([new Promise((r) => (wake = r)), exited]);
      if (!lines.length && child.exitCode !== null) throw new Error(`bench/engine-replay.mjs exited ${child.exitCode}`);
    }
    return lines.shift();
  };
  const send = (m) => child.stdin.write(`${JSON.stringify(m)}\n`);
  const batches = [];
  try {
    send({ image, shapes, rounds: 1, concurrency });
    await next(); // the warm-up round
    for (let done = 0; done < runs; done += batch) {
      const rounds = Math.min(batch, runs - done);
      const items = rounds * shapes.length;
      const before = meter.snapshot();
      send({ image, shapes, rounds, concurrency });
      const r = await next();
      // The last shim's final samples.
      await new Promise((res) => setTimeout(res, 100));
      const d = perItem(before, meter.snapshot(), items);
      d.client = r.cpuMs / items;
      d.engine = d.client + d.dockerd + d.containerd + d.shims;
      d.wall_ms = r.wallMs / items;
      batches.push(d);
    }
    child.stdin.end();
    await exited;
  } finally {
    meter.stop();
    if (child.exitCode === null) child.kill();
  }
  // Per process, the median batch: others' work barely reaches these figures, while a batch
  // whose shim samples fell short would be the lowest. The machine's: the lowest (see above).
  const sorted = [...batches].sort((a, b) => a.engine - b.engine);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return {
    per_item: Object.fromEntries(Object.entries(median).map(([k, v]) => [k, round(v, 1)])),
    machine_cpu_ms: round(Math.min(...batches.map((b) => b.machine)), 0),
    batches_engine_cpu_ms: batches.map((b) => round(b.engine, 0)),
    batches_machine_cpu_ms: batches.map((b) => round(b.machine, 0)),
  };
}
