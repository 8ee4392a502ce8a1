// Hashing benchmark: sabuild's file hashing (store/hash.js) against `openssl dgst -sha256` on one
// large file with a warm page cache, then the stat cache's promise that a second process hashes
// nothing that did not change.
import { spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { fileURLToPath, pathToFileURL } from "node:url";
import { log, options, positive, requireDist, round, summary, table, timed } from "./lib.mjs";

const USAGE = `node bench/hash.mjs [options]
  --size-mib N   size of the large file (default 1024)
  --runs N       timed runs of each hasher (default 3)
  --small N      small files for the stat-cache check (default 1000)
  --dir PATH     where the files go (default /tmp/sabuild-bench-hash; the large file is reused)
  --keep         keep the files afterwards
  --json         print the figures as one JSON document on stdout`;

const opts = options(
  {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    small: { type: "string", default: "1000" },
    dir: { type: "string", default: "/tmp/sabuild-bench-hash" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    // Internal: one stat-cache pass in a fresh process.
    "stat-pass": { type: "boolean", default: false },
  },
  USAGE,
);
const DIR = opts.dir;
const BIG = join(DIR, "big.bin");
const SMALL_DIR = join(DIR, "small");
const STAT_FILE = join(DIR, "stat-cache.json");
const SIZE = positive("size-mib", opts["size-mib"]) * 1024 * 1024;
const RUNS = positive("runs", opts.runs);
const SMALL = positive("small", opts.small);
const DIST = requireDist();

function smallPath(i) {
  return join(SMALL_DIR, `f${String(i).padStart(5, "0")}.txt`);
}

function ensureBigFile() {
  if (existsSync(BIG) && statSync(BIG).size === SIZE) return log(`reusing ${BIG}`);
  log(`writing ${SIZE / 2 ** 20} MiB of random bytes to ${BIG}`);
  const buf = Buffer.allocUnsafe(16 << 20);
  const fd = openSync(BIG, "w");
  try {
    for (let done = 0; done < SIZE; done += buf.length) writeSync(fd, randomFillSync(buf), 0, Math.min(buf.length, SIZE - done));
  } finally {
    closeSync(fd);
  }
}

function ensureSmallFiles() {
  mkdirSync(SMALL_DIR, { recursive: true });
  for (let i = 0; i < SMALL; i++) writeFileSync(smallPath(i), `small file ${i}\n${"x".repeat(i % 2000)}\n`);
}

/** Node's own sha256 over one reused 4 MiB buffer on the main thread: what the runtime can do. */
function plainNodeHash(path) {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(4 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** The same loop in a worker thread, started per call: a candidate for hashPath's large files. */
function workerHash(path) {
  const source = `const { parentPort, workerData } = require("node:worker_threads");
    const { createHash } = require("node:crypto");
    const { openSync, readSync, closeSync } = require("node:fs");
    const h = createHash("sha256");
    const buf = Buffer.allocUnsafe(4 << 20);
    const fd = openSync(workerData, "r");
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    closeSync(fd);
    parentPort.postMessage(h.digest("hex"));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: path });
    w.once("message", (digest) => w.terminate().then(() => resolve(digest)));
    w.once("error", reject);
  });
}

async function throughput() {
  const { hashPath } = await import(pathToFileURL(join(DIST, "store/hash.js")).href);
  // Warm the page cache so that every hasher reads from memory, as the second of two builds does.
  timed("cat", [BIG], { stdio: ["ignore", "ignore", "inherit"] });
  const times = { sabuild: [], openssl: [], node: [], worker: [] };
  const digests = new Set();
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now();
    digests.add(await hashPath(BIG));
    times.sabuild.push(performance.now() - t);
    const o = timed("openssl", ["dgst", "-sha256", "-r", BIG]);
    digests.add(o.stdout.split(" ")[0]);
    times.openssl.push(o.ms);
    t = performance.now();
    digests.add(plainNodeHash(BIG));
    times.node.push(performance.now() - t);
    t = performance.now();
    digests.add(await workerHash(BIG));
    times.worker.push(performance.now() - t);
    log(`run ${r + 1}/${RUNS}: sabuild ${round(times.sabuild[r])} ms, openssl ${round(times.openssl[r])} ms, node ${round(times.node[r])} ms, worker ${round(times.worker[r])} ms`);
  }
  if (digests.size !== 1) throw new Error(`hashers disagree: ${[...digests].join(" ")}`);
  const mbps = (ms) => round(SIZE / 1e6 / (ms / 1000), 0);
  const rows = Object.fromEntries(
    Object.entries(times).map(([k, xs]) => {
      const s = summary(xs);
      return [k, { ...s, bestMBps: mbps(s.min), medianMBps: mbps(s.median) }];
    }),
  );
  return { digest: [...digests][0], ...rows, ratioBest: round(rows.sabuild.bestMBps / rows.openssl.bestMBps, 2), ratioMedian: round(rows.sabuild.medianMBps / rows.openssl.medianMBps, 2) };
}

/** One pass in this (fresh) process: digest every file through the stat cache, then save it. */
async function statPass() {
  const { StatCache } = await import(pathToFileURL(join(DIST, "store/stat-cache.js")).href);
  const started = performance.now();
  const cache = await StatCache.open(STAT_FILE);
  const digests = [await cache.digest(BIG)];
  for (let i = 0; i < SMALL; i++) digests.push(await cache.digest(smallPath(i)));
  await cache.save();
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ rehashed: cache.rehashed, ms, digest: createHash("sha256").update(digests.join("\n")).digest("hex") }));
}

function statPassInNewProcess() {
  const started = performance.now();
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--stat-pass", "--dir", DIR, "--size-mib", opts["size-mib"], "--small", String(SMALL)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`stat pass failed:\n${r.stderr}`);
  return { ...JSON.parse(r.stdout), wallMs: performance.now() - started };
}

function zeroRehash() {
  rmSync(STAT_FILE, { force: true });
  const first = statPassInNewProcess();
  const second = statPassInNewProcess();
  // A changed file must be hashed again, and only that one.
  appendFileSync(smallPath(0), "changed\n");
  const third = statPassInNewProcess();
  const pass = (p) => ({ rehashed: p.rehashed, ms: round(p.ms), wallMs: round(p.wallMs) });
  return {
    files: SMALL + 1,
    first: pass(first),
    second: pass(second),
    afterEdit: pass(third),
    sameDigests: first.digest === second.digest,
    ok: first.rehashed === SMALL + 1 && second.rehashed === 0 && first.digest === second.digest && third.rehashed === 1,
  };
}

function report(t, z) {
  const row = (name, x) => [name, x.min, x.median, x.bestMBps, x.medianMBps, round(x.medianMBps / t.openssl.medianMBps, 2)];
  return [
    `sha256 of a ${SIZE / 2 ** 20} MiB file, page cache warm, ${RUNS} runs each`,
    "",
    table([
      ["hasher", "best ms", "median ms", "best MB/s", "median MB/s", "vs openssl (median)"],
      row("sabuild hashPath (hasha worker)", t.sabuild),
      row("openssl dgst -sha256 (process)", t.openssl),
      row("node createHash, 4 MiB reads", t.node),
      row("same in a new worker thread", t.worker),
    ]),
    "",
    `sabuild / openssl throughput: best ${t.ratioBest}x, median ${t.ratioMedian}x (goal >= 0.9x)`,
    "",
    `stat cache, ${z.files} files (the large one + ${SMALL} small), each pass a new process:`,
    table([
      ["pass", "rehashed", "in-process ms", "process wall ms"],
      ["1: empty cache", z.first.rehashed, z.first.ms, z.first.wallMs],
      ["2: nothing changed", z.second.rehashed, z.second.ms, z.second.wallMs],
      ["3: one small file edited", z.afterEdit.rehashed, z.afterEdit.ms, z.afterEdit.wallMs],
    ]),
    `zero rehash on the second pass: ${z.second.rehashed === 0 ? "yes" : "NO"}; same digests: ${z.sameDigests ? "yes" : "NO"}; overall ${z.ok ? "ok" : "FAILED"}`,
  ].join("\n");
}

async function main() {
  if (opts["stat-pass"]) return statPass();
  mkdirSync(DIR, { recursive: true });
  try {
    ensureBigFile();
    ensureSmallFiles();
    const t = await throughput();
    const z = zeroRehash();
    if (opts.json) console.log(JSON.stringify({ sizeBytes: SIZE, runs: RUNS, node: process.version, throughput: t, statCache: z }, null, 2));
    else console.log(report(t, z));
    if (!z.ok) process.exitCode = 1;
  } finally {
    if (!opts.keep) rmSync(DIR, { recursive: true, force: true });
  }
}

await main();
