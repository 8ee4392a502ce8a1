// Helpers shared by the benchmarks: option parsing, process timing and summaries.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The compiled CLI and library: the benchmarks measure what users run, not the TypeScript. */
export function requireDist() {
  const main = join(REPO, "dist/cli/main.js");
  if (!existsSync(main)) {
    process.stderr.write(`error: ${main} is missing\nhint: cd ${REPO} && npm run build\n`);
    process.exit(2);
  }
  return join(REPO, "dist");
}

export function options(spec, usage) {
  try {
    const { values } = parseArgs({ options: { ...spec, help: { type: "boolean", short: "h" } }, allowPositionals: false });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return values;
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n\n${usage}\n`);
    process.exit(2);
  }
}

export function positive(name, text, { integer = true } = {}) {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    process.stderr.write(`error: --${name} must be a positive ${integer ? "integer" : "number"}, got "${text}"\n`);
    process.exit(2);
  }
  return n;
}

/**
 * Runs a command to completion and returns its wall time from spawn to exit in ms. A non-zero
 * exit is a failed benchmark, not a slow one: it stops everything with the command's stderr.
 */
export function timed(cmd, args, opts = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 30, ...opts });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFailure) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}\n${r.stderr}${r.stdout.slice(-4000)}`);
  }
  return { ms, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { runs: s.length, median: round(median), min: round(s[0]), max: round(s[s.length - 1]), samples: samples.map(round) };
}

export function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A plain text table: first row is the header; numbers right-aligned. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (typeof c === "number" ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

export function log(line) {
  process.stderr.write(`${line}\n`);
}

/** CPU time of the whole machine so far, in ms (user, nice, system, irq, softirq, from /proc/stat). */
export function machineCpuMs() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return ((f[0] + f[1] + f[2] + f[5] + f[6]) * 1000) / 100;
}

/**
 * The engine floor: `runs` containers of `image` opened, given `commands` (one exec each) and
 * closed one after another with sabuild's own sandbox code, after one warm-up. Returns the whole
 * machine's CPU per container (dockerd, containerd, the shims, runc, the kernel: what bounds any
 * concurrency) and the median wall time of a close, which no trace records. With `batch` below
 * `runs`, the CPU is measured per batch of that many and the lowest batch counts: other work
 * on a shared machine only ever adds to it.
 */
export async function engineFloor(image, commands, runs, { batch = runs } = {}) {
  const { openSandbox } = await import(pathToFileURL(join(requireDist(), "sandbox/index.js")).href);
  const closes = [];
  const one = async () => {
    const s = await openSandbox(image);
    for (const argv of commands) await s.exec(argv);
    const t = performance.now();
    await s.close();
    closes.push(performance.now() - t);
  };
  await one();
  closes.length = 0;
  const batches = [];
  for (let done = 0; done < runs; done += batch) {
    const n = Math.min(batch, runs - done);
    const cpu0 = machineCpuMs();
    for (let i = 0; i < n; i++) await one();
    batches.push((machineCpuMs() - cpu0) / n);
  }
  return { cpuMs: Math.min(...batches), batchesCpuMs: batches.map((b) => round(b, 0)), closeMs: summary(closes).median };
}
