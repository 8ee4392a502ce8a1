// Remote cache benchmark: sabuild's RemoteStore against curl on one large blob through a real
// nginx (WebDAV PUT) on loopback, both ways, with the process's peak RSS during the transfer;
// then how many bytes go up again after one file of a 1,000-file dataset changed.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { log, options, positive, REPO, requireDist, round, summary, table, timed } from "./lib.mjs";

const USAGE = `node bench/remote.mjs [options]
  --gib X        size of the large artifact in GiB (default 2)
  --runs N       timed transfers of each tool and direction (default 3)
  --files N      files in the dataset of the re-upload check (default 1000, ~20 KiB each)
  --dir PATH     work directory, wiped first (default /tmp/sabuild-bench-remote)
  --keep         keep the work directory (artifact, stores, nginx data) afterwards
  --json         print the figures as one JSON document on stdout`;

const opts = options(
  {
    gib: { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
    files: { type: "string", default: "1000" },
    dir: { type: "string", default: "/tmp/sabuild-bench-remote" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    // Internal: write the large file in a child process, so its buffer never counts in our RSS.
    "make-file": { type: "string" },
  },
  USAGE,
);
const GIB = positive("gib", opts.gib, { integer: false });
const SIZE = Math.round(GIB * 2 ** 30);
const RUNS = positive("runs", opts.runs);
const FILES = positive("files", opts.files);
const WORK = opts.dir;
const CHUNK = 64 << 20;
const MIB = 2 ** 20;

/** 64 MiB of random bytes reused, with the chunk's number in its first 8 bytes: no two chunks alike. */
function makeFile(path, size) {
  const buf = randomFillSync(Buffer.allocUnsafe(CHUNK));
  const fd = openSync(path, "w");
  try {
    for (let i = 0, done = 0; done < size; i++, done += CHUNK) {
      buf.writeBigUInt64LE(BigInt(i), 0);
      writeSync(fd, buf, 0, Math.min(CHUNK, size - done));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A private copy of the compiled library: others rebuild dist/ while this runs, and every run
 * must time the same code. node_modules (hasha) is shared through a link.
 */
async function loadSabuild() {
  const root = join(WORK, "sabuild-lib");
  cpSync(requireDist(), join(root, "dist"), { recursive: true });
  copyFileSync(join(REPO, "package.json"), join(root, "package.json"));
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
  const load = (p) => import(pathToFileURL(join(root, "dist", p)).href);
  const [{ openStore }, { RemoteStore }] = await Promise.all([load("store/index.js"), load("remote/remote-store.js")]);
  return { openStore, RemoteStore };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * nginx with WebDAV PUT and DELETE on loopback, configured as tests/nginx.ts does, plus an access
 * log of method, path, status and request bytes: the server's own count of what was sent.
 */
async function startNginx() {
  const dir = join(WORK, "nginx");
  const data = join(dir, "data");
  mkdirSync(data, { recursive: true });
  const port = await freePort();
  const accessLog = join(dir, "access.log");
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(dir, t)};`).join("\n  ");
  writeFileSync(
    join(dir, "nginx.conf"),
    `${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
daemon off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")};
events { worker_connections 256; }
http {
  log_format bench '$request_method $uri $status $request_length';
  access_log ${accessLog} bench;
  ${temp}
  server {
    listen 127.0.0.1:${port};
    root ${data};
    client_max_body_size 0;
    location / {
      dav_methods PUT DELETE;
      autoindex on;
      autoindex_format json;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`,
  );
  const child = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.once("error", () => undefined);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited at start; see ${join(dir, "error.log")}`);
    if (await fetch(`${url}/`).then((r) => r.body?.cancel().then(() => true), () => false)) break;
    if (Date.now() > deadline) throw new Error("nginx did not listen within 10 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    data,
    accessLog,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Access-log lines written since `from` (a byte offset), parsed. */
function requestsSince(accessLog, from) {
  const text = readFileSync(accessLog, "utf8").slice(from);
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [method, uri, status, bytes] = line.split(" ");
      return { method, uri, status: Number(status), bytes: Number(bytes) };
    });
}

function logSize(accessLog) {
  return existsSync(accessLog) ? statSync(accessLog).size : 0;
}

/**
 * Peak RSS while `fn` runs: sampled every 100 ms, and the kernel's high-water mark (VmHWM),
 * reset first through /proc/self/clear_refs so that earlier peaks do not count.
 */
async function withPeakRss(fn) {
  let hwmReset = true;
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    hwmReset = false;
  }
  const baseline = process.memoryUsage.rss();
  let sampled = baseline;
  const timer = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage.rss())), 100);
  try {
    const value = await fn();
    sampled = Math.max(sampled, process.memoryUsage.rss());
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN) * 1024;
    return { value, rss: { baselineMiB: round(baseline / MIB), peakSampledMiB: round(sampled / MIB), vmHwmMiB: round(hwm / MIB), hwmReset } };
  } finally {
    clearInterval(timer);
  }
}

function curl(args) {
  return timed("curl", ["-sS", "-f", ...args]);
}

/** Dirty pages from the previous transfer are written back before the next one is timed. */
function settle() {
  spawnSync("sync");
}

function actionResult(key, output, log) {
  return {
    version: 1,
    key,
    stage: "bench:export",
    preimage: { kind: "export", version: "1", params: null, files: {}, upstream: {}, toolchain: {} },
    output,
    log,
    durationMs: 0,
    createdAt: new Date().toISOString(),
  };
}

function randomKey() {
  return randomBytes(32).toString("hex");
}

/** Stages a directory's files (consumed by adoptTree) and records an action result for them. */
async function storeOutput(store, dir, key) {
  const { digest, manifest } = await store.cas.adoptTree(dir);
  const result = actionResult(key, digest, await store.cas.putBytes(""));
  await store.ac.put(result);
  return { result, manifest };
}

function deltaStats(after, before) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
}

async function throughput(lib, nginx) {
  const staging = join(WORK, "staging-big");
  mkdirSync(staging, { recursive: true });
  const started = performance.now();
  const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--make-file", join(staging, "model.gguf"), "--gib", String(GIB)], { stdio: "inherit" });
  if (made.status !== 0) throw new Error("writing the large file failed");
  log(`wrote ${round(SIZE / 2 ** 30, 2)} GiB of random bytes in ${round((performance.now() - started) / 1000)} s`);

  const store = await lib.openStore(join(WORK, "store-up"));
  const { result, manifest } = await storeOutput(store, staging, randomKey());
  const digest = manifest.entries[0].digest;
  const blob = store.cas.blobPath(digest);
  const serverObjects = [join(nginx.data, "cas", digest), join(nginx.data, "cas", result.output), join(nginx.data, "cas", result.log), join(nginx.data, "ac", result.key)];
  const curlUp = join(nginx.data, "curl-up", "model.gguf");
  log(`stored as ${digest.slice(0, 12)} (manifest ${result.output.slice(0, 12)}, key ${result.key.slice(0, 12)})`);
  // Reading the blob once puts it in the page cache for both tools alike.
  timed("cat", [blob], { stdio: ["ignore", "ignore", "inherit"] });

  const times = { up: { sabuild: [], curl: [] }, down: { sabuild: [], curl: [] } };
  const rss = { up: [], down: [] };
  const warnings = [];
  const warn = (text) => warnings.push(text);

  async function sabuildUpload() {
    for (const p of serverObjects) rmSync(p, { force: true });
    settle();
    const remote = new lib.RemoteStore({ url: nginx.url, mode: "readwrite", headers: {} }, store, warn);
    const t = performance.now();
    const { rss: r } = await withPeakRss(() => remote.upload(result));
    const ms = performance.now() - t;
    if (remote.down || remote.stats.uploadedBlobs !== 3 || statSync(serverObjects[0], { throwIfNoEntry: false })?.size !== SIZE) {
      throw new Error(`sabuild upload did not transfer the blob: ${JSON.stringify(remote.stats)} ${warnings.join("; ")}`);
    }
    times.up.sabuild.push(ms);
    rss.up.push(r);
    return ms;
  }

  function curlUpload() {
    rmSync(curlUp, { force: true });
    settle();
    const { ms } = curl(["-T", blob, `${nginx.url}/curl-up/model.gguf`]);
    if (statSync(curlUp, { throwIfNoEntry: false })?.size !== SIZE) throw new Error("curl upload did not arrive whole");
    times.up.curl.push(ms);
    return ms;
  }

  const downRoot = join(WORK, "store-down");
  const curlDown = join(WORK, "curl-down.bin");

  async function sabuildDownload() {
    rmSync(downRoot, { recursive: true, force: true });
    settle();
    const down = await lib.openStore(downRoot);
    const remote = new lib.RemoteStore({ url: nginx.url, mode: "read", headers: {} }, down, warn);
    const t = performance.now();
    const { value: ok, rss: r } = await withPeakRss(async () => {
      const hit = await remote.lookup(result.key);
      return hit !== undefined && (await remote.restore(hit));
    });
    const ms = performance.now() - t;
    if (!ok || !(await down.cas.has(digest, SIZE))) throw new Error(`sabuild download failed: ${warnings.join("; ")}`);
    times.down.sabuild.push(ms);
    rss.down.push(r);
    return ms;
  }

  function curlDownload() {
    rmSync(curlDown, { force: true });
    settle();
    const { ms } = curl(["-o", curlDown, `${nginx.url}/cas/${digest}`]);
    if (statSync(curlDown).size !== SIZE) throw new Error("curl download did not arrive whole");
    times.down.curl.push(ms);
    return ms;
  }

  // Round by round, alternating which tool goes first, so load from elsewhere hits both alike.
  for (let r = 0; r < RUNS; r++) {
    const [a, b] = r % 2 ? [curlUpload, sabuildUpload] : [sabuildUpload, curlUpload];
    await a();
    await b();
    log(`upload   ${r + 1}/${RUNS}: sabuild ${round(times.up.sabuild[r] / 1000, 2)} s, curl ${round(times.up.curl[r] / 1000, 2)} s`);
  }
  for (let r = 0; r < RUNS; r++) {
    const [a, b] = r % 2 ? [curlDownload, sabuildDownload] : [sabuildDownload, curlDownload];
    await a();
    await b();
    log(`download ${r + 1}/${RUNS}: sabuild ${round(times.down.sabuild[r] / 1000, 2)} s, curl ${round(times.down.curl[r] / 1000, 2)} s`);
  }
  if (warnings.length) log(`warnings: ${warnings.join("; ")}`);

  const mbps = (ms) => round(SIZE / 1e6 / (ms / 1000), 0);
  const figures = (xs) => {
    const s = summary(xs);
    return { ...s, bestS: round(s.min / 1000, 2), medianS: round(s.median / 1000, 2), bestMBps: mbps(s.min), medianMBps: mbps(s.median) };
  };
  const side = (t, r) => {
    const sabuild = figures(t.sabuild);
    const c = figures(t.curl);
    const peak = (k) => Math.max(...r.map((x) => x[k]));
    return {
      sabuild: { ...sabuild, baselineRssMiB: Math.min(...r.map((x) => x.baselineMiB)), peakRssSampledMiB: peak("peakSampledMiB"), peakVmHwmMiB: peak("vmHwmMiB"), hwmReset: r.every((x) => x.hwmReset) },
      curl: c,
      ratioBest: round(sabuild.bestMBps / c.bestMBps, 2),
      ratioMedian: round(sabuild.medianMBps / c.medianMBps, 2),
    };
  };
  return { bytes: SIZE, digest, upload: side(times.up, rss.up), download: side(times.down, rss.down), warnings };
}

/** ~20 KiB of JSONL rows, different in every file so that no two blobs dedupe. */
function rowsFile(i, edit = 0) {
  const rows = [];
  for (let r = 0; r < 40; r++) {
    const text = createHash("sha256").update(`${i}:${r}:${r === 0 ? edit : 0}`).digest("base64").repeat(10);
    rows.push(JSON.stringify({ id: `f${i}-r${r}`, prompt: `question ${r} about shard ${i}`, completion: text }));
  }
  return `${rows.join("\n")}\n`;
}

async function reupload(lib, nginx) {
  const store = await lib.openStore(join(WORK, "store-dataset"));
  const staged = (edited) => {
    const dir = join(WORK, "staging-dataset");
    mkdirSync(join(dir, "rows"), { recursive: true });
    let bytes = 0;
    for (let i = 0; i < FILES; i++) {
      const text = rowsFile(i, i === edited ? 1 : 0);
      bytes += Buffer.byteLength(text);
      writeFileSync(join(dir, "rows", `part-${String(i).padStart(5, "0")}.jsonl`), text);
    }
    return { dir, bytes };
  };
  const warnings = [];
  const remote = new lib.RemoteStore({ url: nginx.url, mode: "readwrite", headers: {} }, store, (t) => warnings.push(t));

  async function uploadTree(edited) {
    const { dir, bytes } = staged(edited);
    const { result, manifest } = await storeOutput(store, dir, randomKey());
    const manifestBytes = statSync(store.cas.blobPath(result.output)).size;
    settle();
    const before = { ...remote.stats };
    const from = logSize(nginx.accessLog);
    const t = performance.now();
    await remote.upload(result);
    const ms = performance.now() - t;
    if (remote.down) throw new Error(`dataset upload failed: ${warnings.join("; ")}`);
    const requests = requestsSince(nginx.accessLog, from);
    const puts = requests.filter((q) => q.method === "PUT");
    return {
      ms: round(ms),
      files: manifest.entries.length,
      datasetBytes: bytes,
      manifestBytes,
      stats: deltaStats(remote.stats, before),
      server: {
        head: requests.filter((q) => q.method === "HEAD").length,
        putBlobs: puts.filter((q) => q.uri.startsWith("/cas/")).length,
        putResults: puts.filter((q) => q.uri.startsWith("/ac/")).length,
        putBytes: puts.reduce((n, q) => n + q.bytes, 0),
      },
    };
  }

  const first = await uploadTree(-1);
  const edited = Math.floor(FILES / 2);
  const second = await uploadTree(edited);
  // At most: the edited file, the new manifest and the log (the log is the same empty blob, so skipped).
  const allowed = 3;
  const ok = second.stats.uploadedBlobs <= allowed && second.stats.uploadedBlobs >= 2 && second.stats.skippedBlobs >= FILES - 1 && second.server.putResults === 1;
  return { files: FILES, editedFile: edited, first, second, ok, warnings };
}

function report(t, d) {
  const gib = round(SIZE / 2 ** 30, 2);
  const row = (dir, name, x, vsCurl, rss) => [dir, name, x.bestS, x.medianS, x.bestMBps, x.medianMBps, vsCurl, rss];
  const rssText = (s) => `${s.baselineRssMiB} -> ${Math.max(s.peakRssSampledMiB, s.peakVmHwmMiB)}`;
  const f = (n) => `${round(n / 1024, 1)} KiB`;
  return [
    `${gib} GiB blob through nginx ${spawnSync("nginx", ["-v"], { encoding: "utf8" }).stderr.trim().split("/")[1]} on loopback (WebDAV PUT), page cache warm, ${RUNS} runs each`,
    "",
    table([
      ["direction", "tool", "best s", "median s", "best MB/s", "median MB/s", "vs curl (median)", "RSS MiB (before -> peak)"],
      row("upload", "sabuild RemoteStore.upload", t.upload.sabuild, t.upload.ratioMedian, rssText(t.upload.sabuild)),
      row("upload", "curl -T", t.upload.curl, 1, "-"),
      row("download", "sabuild lookup + restore", t.download.sabuild, t.download.ratioMedian, rssText(t.download.sabuild)),
      row("download", "curl -o", t.download.curl, 1, "-"),
    ]),
    "",
    `sabuild / curl throughput (goal >= 0.8x): upload best ${t.upload.ratioBest}x, median ${t.upload.ratioMedian}x; download best ${t.download.ratioBest}x, median ${t.download.ratioMedian}x`,
    `peak RSS of this process during sabuild's transfers: upload ${Math.max(t.upload.sabuild.peakRssSampledMiB, t.upload.sabuild.peakVmHwmMiB)} MiB, download ${Math.max(t.download.sabuild.peakRssSampledMiB, t.download.sabuild.peakVmHwmMiB)} MiB (sampled every 100 ms and VmHWM${t.upload.sabuild.hwmReset ? ", reset before each transfer" : ", NOT reset: lifetime peak"}); the blob is ${round(SIZE / MIB)} MiB`,
    "",
    `re-upload after editing one of ${d.files} files (${round(d.first.datasetBytes / MIB, 1)} MiB dataset; file ${d.editedFile} edited):`,
    table([
      ["upload", "uploaded blobs", "uploaded bytes", "skipped blobs", "server HEADs", "server PUT blobs", "server PUT bytes", "manifest", "ms"],
      ["1: everything new", d.first.stats.uploadedBlobs, d.first.stats.uploadedBytes, d.first.stats.skippedBlobs, d.first.server.head, d.first.server.putBlobs, d.first.server.putBytes, f(d.first.manifestBytes), d.first.ms],
      ["2: one file edited", d.second.stats.uploadedBlobs, d.second.stats.uploadedBytes, d.second.stats.skippedBlobs, d.second.server.head, d.second.server.putBlobs, d.second.server.putBytes, f(d.second.manifestBytes), d.second.ms],
    ]),
    `second upload sent ${round((100 * d.second.stats.uploadedBytes) / d.second.datasetBytes, 2)}% of the dataset's bytes; at most the edited file + manifest + log: ${d.ok ? "yes" : "NO"}`,
  ].join("\n");
}

async function main() {
  if (opts["make-file"]) return makeFile(opts["make-file"], SIZE);
  if (spawnSync("nginx", ["-v"]).error) throw new Error("nginx is not installed (apt-get install nginx-light)");
  if (spawnSync("curl", ["--version"]).error) throw new Error("curl is not installed");
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  let nginx;
  try {
    const lib = await loadSabuild();
    nginx = await startNginx();
    const loadBefore = loadavg().map((x) => round(x, 2)).join(" ");
    log(`nginx at ${nginx.url}; load average ${loadBefore}`);
    const t = await throughput(lib, nginx);
    const d = await reupload(lib, nginx);
    const loadAfter = loadavg().map((x) => round(x, 2)).join(" ");
    if (opts.json) console.log(JSON.stringify({ gib: GIB, runs: RUNS, node: process.version, loadBefore, loadAfter, throughput: t, reupload: d }, null, 2));
    else console.log(`${report(t, d)}\n\nload average before ${loadBefore}, after ${loadAfter}`);
    if (!d.ok) process.exitCode = 1;
  } finally {
    await nginx?.stop();
    if (!opts.keep) rmSync(WORK, { recursive: true, force: true });
  }
}

await main();
