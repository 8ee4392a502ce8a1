// Remote cache benchmark: sabuild's RemoteStore against curl on one large blob through a real
// nginx (WebDAV PUT) on loopback, both ways, with the process's peak RSS during the transfer;
// then how many bytes go up again after one file of a 1,000-file dataset changed.
import { nginxConf } from "../tests/support/nginx-conf.mjs";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { constants, loadavg } from "node:os";
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
    // Internal: one sabuild transfer in a fresh process (JSON spec), figures on stdout.
    transfer: { type: "string" },
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
/** Streaming buffers and garbage awaiting GC stay well under this; a blob held whole does not. */
const STREAMING_RSS_MIB = 256;

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
function snapshotSabuild() {
  const root = join(WORK, "sabuild-lib");
  cpSync(requireDist(), join(root, "dist"), { recursive: true, preserveTimestamps: true });
  copyFileSync(join(REPO, "package.json"), join(root, "package.json"));
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
  return root;
}

async function importSabuild(root) {
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
  writeFileSync(join(dir, "nginx.conf"), nginxConf({ dir, data, port, accessLog }));
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
    kill: () => child.kill("SIGTERM"),
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

/**
 * Before each timed transfer: dirty pages of the previous one are written back, and the file about
 * to be sent is read once, so that every tool starts from a warm page cache. Some VMs page idle
 * cache out within a minute (DAMON pageout), which would otherwise time the disk, at random.
 */
function settle(warm) {
  spawnSync("sync");
  if (warm) timed("cat", [warm], { stdio: ["ignore", "ignore", "inherit"] });
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

/**
 * One sabuild transfer, run in a fresh process (see runTransfer) so that its peak RSS is its own:
 * no earlier transfer, buffer or garbage of this process counts.
 */
function transferInChild(spec) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--transfer", JSON.stringify(spec)], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`sabuild ${spec.direction} failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout);
  if (!out.ok) throw new Error(`sabuild ${spec.direction} did not complete: ${JSON.stringify(out.stats)} ${out.warnings.join("; ")}`);
  return out;
}

/** The child's side: upload a stored result, or look it up and restore it into an empty store. */
async function runTransfer(spec) {
  const { openStore, RemoteStore } = await importSabuild(spec.lib);
  const store = await openStore(spec.store);
  const warnings = [];
  const remote = new RemoteStore({ url: spec.url, mode: spec.direction === "upload" ? "readwrite" : "read", headers: {} }, store, (w) => warnings.push(w));
  const result = spec.direction === "upload" ? await store.ac.get(spec.key) : undefined;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { value: ok, rss } = await withPeakRss(async () => {
    if (result) {
      await remote.upload(result);
      return !remote.down;
    }
    const hit = await remote.lookup(spec.key);
    return hit !== undefined && (await remote.restore(hit));
  });
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  remote.close();
  process.stdout.write(JSON.stringify({ ok: ok && warnings.length === 0, ms, cpuMs: (used.user + used.system) / 1000, userMs: used.user / 1000, sysMs: used.system / 1000, rss, stats: remote.stats, warnings }));
}

/** curl with the CPU time it used (bash's `times` reports its children's user and sys). */
function curlTimed(args) {
  const r = timed("bash", ["-c", 'curl -sS -f "$@"; rc=$?; times >&2; exit $rc', "curl", ...args]);
  const lines = r.stderr.trim().split("\n");
  const secs = (t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t);
    return Number(m) * 60 + Number(s);
  };
  const [user, sys] = lines[lines.length - 1].split(" ").map(secs);
  return { ms: r.ms, cpuMs: (user + sys) * 1000, userMs: user * 1000, sysMs: sys * 1000 };
}

async function throughput(lib, libRoot, nginx) {
  const staging = join(WORK, "staging-big");
  mkdirSync(staging, { recursive: true });
  const started = performance.now();
  const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--make-file", join(staging, "model.gguf"), "--gib", String(GIB)], { stdio: "inherit" });
  if (made.status !== 0) throw new Error("writing the large file failed");
  log(`wrote ${round(SIZE / 2 ** 30, 2)} GiB of random bytes in ${round((performance.now() - started) / 1000)} s`);

  const storeUp = join(WORK, "store-up");
  const store = await lib.openStore(storeUp);
  const { result, manifest } = await storeOutput(store, staging, randomKey());
  const digest = manifest.entries[0].digest;
  const blob = store.cas.blobPath(digest);
  const serverObjects = [join(nginx.data, "cas", digest), join(nginx.data, "cas", result.output), join(nginx.data, "cas", result.log), join(nginx.data, "ac", result.key)];
  const curlUp = join(nginx.data, "curl-up", "model.gguf");
  log(`stored as ${digest.slice(0, 12)} (manifest ${result.output.slice(0, 12)}, key ${result.key.slice(0, 12)})`);

  const samples = { upload: { sabuild: [], curl: [] }, download: { sabuild: [], curl: [], curlVerify: [] } };
  const spec = { lib: libRoot, url: nginx.url, key: result.key };

  function sabuildUpload() {
    for (const p of serverObjects) rmSync(p, { force: true });
    settle(blob);
    const out = transferInChild({ ...spec, direction: "upload", store: storeUp });
    if (out.stats.uploadedBlobs !== 3 || statSync(serverObjects[0], { throwIfNoEntry: false })?.size !== SIZE) throw new Error(`sabuild upload did not send the blob: ${JSON.stringify(out.stats)}`);
    samples.upload.sabuild.push(out);
  }

  function curlUpload() {
    settle(blob);
    const out = curlTimed(["-T", blob, `${nginx.url}/curl-up/model.gguf`]);
    if (statSync(curlUp, { throwIfNoEntry: false })?.size !== SIZE) throw new Error("curl upload did not arrive whole");
    rmSync(curlUp);
    samples.upload.curl.push(out);
  }

  const storeDown = join(WORK, "store-down");
  const curlDown = join(WORK, "curl-down.bin");

  function sabuildDownload() {
    rmSync(storeDown, { recursive: true, force: true });
    settle(serverObjects[0]);
    const out = transferInChild({ ...spec, direction: "download", store: storeDown });
    if (statSync(join(storeDown, "cas", digest.slice(0, 2), digest), { throwIfNoEntry: false })?.size !== SIZE) throw new Error("sabuild download did not install the blob");
    samples.download.sabuild.push(out);
  }

  function curlDownload(verify) {
    settle(serverObjects[0]);
    const out = curlTimed(["-o", curlDown, `${nginx.url}/cas/${digest}`]);
    if (statSync(curlDown).size !== SIZE) throw new Error("curl download did not arrive whole");
    if (verify) {
      // What sabuild does on top of curl's work: check the content against its name.
      const check = timed("openssl", ["dgst", "-sha256", "-r", curlDown]);
      if (!check.stdout.startsWith(digest)) throw new Error("curl download has the wrong content");
      out.ms += check.ms;
    }
    rmSync(curlDown);
    (verify ? samples.download.curlVerify : samples.download.curl).push(out);
  }

  const secs = (xs, r) => round(xs[r].ms / 1000, 2);
  // Round by round, rotating which tool goes first, so load from elsewhere hits them alike.
  const rotate = (steps, r) => [...steps.slice(r % steps.length), ...steps.slice(0, r % steps.length)];
  for (let r = 0; r < RUNS; r++) {
    for (const step of rotate([sabuildUpload, curlUpload], r)) step();
    log(`upload   ${r + 1}/${RUNS}: sabuild ${secs(samples.upload.sabuild, r)} s, curl ${secs(samples.upload.curl, r)} s`);
  }
  for (let r = 0; r < RUNS; r++) {
    for (const step of rotate([sabuildDownload, () => curlDownload(false), () => curlDownload(true)], r)) step();
    const d = samples.download;
    log(`download ${r + 1}/${RUNS}: sabuild ${secs(d.sabuild, r)} s, curl ${secs(d.curl, r)} s, curl + openssl sha256 ${secs(d.curlVerify, r)} s`);
  }

  const figures = (xs) => {
    const s = summary(xs.map((x) => x.ms));
    const mbps = (ms) => round(SIZE / 1e6 / (ms / 1000), 0);
    const f = { ...s, bestS: round(s.min / 1000, 2), medianS: round(s.median / 1000, 2), bestMBps: mbps(s.min), medianMBps: mbps(s.median), cpuS: round(summary(xs.map((x) => x.cpuMs)).median / 1000, 2), userS: round(summary(xs.map((x) => x.userMs)).median / 1000, 2), sysS: round(summary(xs.map((x) => x.sysMs)).median / 1000, 2) };
    if (xs[0].rss) {
      f.rssBeforeMiB = Math.min(...xs.map((x) => x.rss.baselineMiB));
      f.peakRssMiB = Math.max(...xs.map((x) => Math.max(x.rss.peakSampledMiB, x.rss.vmHwmMiB)));
      f.hwmReset = xs.every((x) => x.rss.hwmReset);
      f.streams = f.peakRssMiB - f.rssBeforeMiB < STREAMING_RSS_MIB;
    }
    return f;
  };
  const side = (t) => {
    const out = Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, figures(xs)]));
    return { ...out, ratioBest: round(out.sabuild.bestMBps / out.curl.bestMBps, 2), ratioMedian: round(out.sabuild.medianMBps / out.curl.medianMBps, 2) };
  };
  return { bytes: SIZE, digest, upload: side(samples.upload), download: side(samples.download) };
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

  async function uploadTree(edited) {
    const { dir, bytes } = staged(edited);
    const { result, manifest } = await storeOutput(store, dir, randomKey());
    const manifestBytes = statSync(store.cas.blobPath(result.output)).size;
    settle();
    // A new RemoteStore per upload, as each build is a new run: within a run it remembers what
    // the server has, so a second upload in the same run would not even ask.
    const remote = new lib.RemoteStore({ url: nginx.url, mode: "readwrite", headers: {} }, store, (t) => warnings.push(t));
    const from = logSize(nginx.accessLog);
    const t = performance.now();
    await remote.upload(result);
    const ms = performance.now() - t;
    remote.close();
    if (remote.down) throw new Error(`dataset upload failed: ${warnings.join("; ")}`);
    const requests = requestsSince(nginx.accessLog, from);
    const puts = requests.filter((q) => q.method === "PUT");
    return {
      ms: round(ms),
      files: manifest.entries.length,
      datasetBytes: bytes,
      manifestBytes,
      stats: { ...remote.stats },
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
  const ok =
    second.stats.uploadedBlobs <= allowed && second.stats.uploadedBlobs >= 2 && second.stats.skippedBlobs >= FILES - 1 && second.server.putBlobs === second.stats.uploadedBlobs && second.server.putResults === 1;
  return { files: FILES, editedFile: edited, first, second, ok, warnings };
}

function report(t, d) {
  const gib = round(SIZE / 2 ** 30, 2);
  const row = (dir, name, x, vsCurl) => [dir, name, x.bestS, x.medianS, x.bestMBps, x.medianMBps, vsCurl, x.cpuS, x.peakRssMiB === undefined ? "-" : `${x.rssBeforeMiB} -> ${x.peakRssMiB}`];
  const kib = (n) => `${round(n / 1024, 1)} KiB`;
  const u = t.upload;
  const w = t.download;
  return [
    `${gib} GiB blob through nginx on loopback (WebDAV PUT), page cache warm, ${RUNS} runs each; sabuild timed in-process (a fresh process per transfer)`,
    "",
    table([
      ["direction", "tool", "best s", "median s", "best MB/s", "median MB/s", "vs curl (median)", "CPU s (median)", "RSS MiB (before -> peak)"],
      row("upload", "sabuild RemoteStore.upload", u.sabuild, u.ratioMedian),
      row("upload", "curl -T", u.curl, 1),
      row("download", "sabuild lookup + restore", w.sabuild, w.ratioMedian),
      row("download", "curl -o", w.curl, 1),
      row("download", "curl -o, then openssl sha256", w.curlVerify, round(w.curlVerify.medianMBps / w.curl.medianMBps, 2)),
    ]),
    "",
    `sabuild / curl throughput (goal >= 0.8x): upload best ${u.ratioBest}x, median ${u.ratioMedian}x; download best ${w.ratioBest}x, median ${w.ratioMedian}x`,
    `peak RSS of the sabuild process: upload ${u.sabuild.peakRssMiB} MiB, download ${w.sabuild.peakRssMiB} MiB, for a ${round(SIZE / MIB)} MiB blob (sampled every 100 ms and VmHWM${u.sabuild.hwmReset ? " reset at the start" : ", lifetime"})`,
    `the blob stays out of memory (RSS grows by less than ${STREAMING_RSS_MIB} MiB): upload ${u.sabuild.streams ? "yes" : "NO"}, download ${w.sabuild.streams ? "yes" : "NO"}`,
    "",
    `re-upload after editing one of ${d.files} files (${round(d.first.datasetBytes / MIB, 1)} MiB dataset; file ${d.editedFile} edited):`,
    table([
      ["upload", "uploaded blobs", "uploaded bytes", "skipped blobs", "server HEADs", "server PUT blobs", "server PUT bytes", "manifest", "ms"],
      ["1: everything new", d.first.stats.uploadedBlobs, d.first.stats.uploadedBytes, d.first.stats.skippedBlobs, d.first.server.head, d.first.server.putBlobs, d.first.server.putBytes, kib(d.first.manifestBytes), d.first.ms],
      ["2: one file edited", d.second.stats.uploadedBlobs, d.second.stats.uploadedBytes, d.second.stats.skippedBlobs, d.second.server.head, d.second.server.putBlobs, d.second.server.putBytes, kib(d.second.manifestBytes), d.second.ms],
    ]),
    `second upload sent ${d.second.stats.uploadedBytes} of ${d.second.datasetBytes} dataset bytes (${round((100 * d.second.stats.uploadedBytes) / d.second.datasetBytes, 2)}%); at most the edited file + manifest + log: ${d.ok ? "yes" : "NO"}`,
  ].join("\n");
}

async function main() {
  if (opts["make-file"]) return makeFile(opts["make-file"], SIZE);
  if (opts.transfer) return runTransfer(JSON.parse(opts.transfer));
  if (spawnSync("nginx", ["-v"]).error) throw new Error("nginx is not installed (apt-get install nginx-light)");
  if (spawnSync("curl", ["--version"]).error) throw new Error("curl is not installed");
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  let nginx;
  // Ctrl-C or timeout(1) must not leave nginx running or gigabytes behind in the work directory.
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => process.exit(128 + constants.signals[signal]));
  process.once("exit", () => {
    nginx?.kill();
    if (!opts.keep) rmSync(WORK, { recursive: true, force: true });
  });
  try {
    const libRoot = snapshotSabuild();
    const lib = await importSabuild(libRoot);
    nginx = await startNginx();
    const loadBefore = loadavg().map((x) => round(x, 2)).join(" ");
    log(`nginx at ${nginx.url}; load average ${loadBefore}`);
    const t = await throughput(lib, libRoot, nginx);
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
