// Rollout throughput: the traces stage with a stand-in teacher of fixed latency per call, at
// several concurrencies, against the ideal (concurrency x the single-rollout rate).
//
//   node bench/rollouts.mjs [--rollouts 32] [--latency 200] [--concurrency 1,4,16]
//
// Every run uses a fresh project and store, so nothing comes from the response cache. Each
// rollout makes two model calls and one tool call in its own container (start + exec + removal).
//
// The machine's CPU bounds what any concurrency can reach: before the runs, the benchmark opens,
// uses (one command) and closes --calibrate containers one after another with sabuild's own
// sandbox code and measures the whole machine's CPU time per container (/proc/stat: dockerd,
// containerd, the shims, runc and the kernel). cores x 1000 / that is the engine ceiling in
// rollouts/s, whatever sabuild does around it; each run also reports its CPU per rollout.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { engineFloor, machineCpuMs, options, positive, REPO, requireDist } from "./lib.mjs";

const usage = "node bench/rollouts.mjs [--rollouts N] [--latency MS] [--concurrency 1,4,16] [--calibrate N]";
const o = options(
  { rollouts: { type: "string", default: "32" }, latency: { type: "string", default: "200" }, concurrency: { type: "string", default: "1,4,16" }, calibrate: { type: "string", default: "16" } },
  usage,
);
const calibrate = positive("calibrate", o.calibrate);
const rollouts = positive("rollouts", o.rollouts);
const latency = positive("latency", o.latency);
const levels = o.concurrency.split(",").map((c) => positive("concurrency", c));
const cli = join(requireDist(), "cli/main.js");

function project(concurrency) {
  const dir = mkdtempSync(join(tmpdir(), "sabuild-bench-rollouts-"));
  writeFileSync(
    join(dir, "subagents.yaml"),
    [
      "version: 1",
      "subagents:",
      "  bench:",
      "    source:",
      "      inline: { description: Counts things, prompt: You count things., tools: [Bash] }",
      "    teacher: { standin: policy.mjs, model: bench, concurrency: " + concurrency + " }",
      "    sandbox: { recipe: shell }",
      `    tasks: { from: tasks.jsonl, holdout: 0, count: ${rollouts} }`,
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "tasks.jsonl"), Array.from({ length: rollouts }, (_, i) => JSON.stringify({ id: `t${i}`, prompt: `count the entries of / (run ${i})` })).join("\n") + "\n");
  copyFileSync(join(REPO, "bench/rollout-policy.mjs"), join(dir, "policy.mjs"));
  return dir;
}

function build(dir, concurrency) {
  const r = spawnSync(process.execPath, [cli, "build", "bench:traces", "-j", String(concurrency), "--json"], { cwd: dir, encoding: "utf8", env: { ...process.env, ROLLOUT_LATENCY_MS: String(latency) } });
  if (r.status !== 0) throw new Error(`build failed (${r.status}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  const doc = JSON.parse(r.stdout);
  return doc.stages.find((s) => s.id === "bench:traces").durationMs;
}

function imageOf(dir) {
  const r = spawnSync(process.execPath, [cli, "artifacts", "bench:sandbox", "--json"], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`artifacts failed: ${r.stderr}`);
  // The sandbox stage is a map over environments: items/<env>/image.json.
  const file = JSON.parse(r.stdout).files.find((f) => f.path.endsWith("image.json"));
  return JSON.parse(readFileSync(file.blob, "utf8"));
}

// Warm-up: builds the sandbox image once (the stage is keyed per project, the image is shared),
// then measures the machine's CPU per container lifecycle on it.
let floorMs;
{
  const dir = project(1);
  spawnSync(process.execPath, [cli, "build", "bench:sandbox"], { cwd: dir });
  const image = imageOf(dir);
  rmSync(dir, { recursive: true, force: true });
  floorMs = (await engineFloor(image, [["sh", "-c", "ls / | wc -l"]], calibrate)).cpuMs;
}
const cores = availableParallelism();
const ceiling = (cores * 1000) / floorMs;

const results = [];
let single;
for (const c of levels) {
  const dir = project(c);
  try {
    const cpu0 = machineCpuMs();
    const ms = build(dir, c);
    const cpuPerRollout = (machineCpuMs() - cpu0) / rollouts;
    const rate = (rollouts / ms) * 1000;
    single ??= c === 1 ? rate : undefined;
    const modelIdeal = (c / ((2 * latency) / 1000));
    results.push({ concurrency: c, seconds: ms / 1000, rollouts_per_s: rate, vs_ideal: single ? rate / (single * c) : null, vs_model_only_ideal: rate / modelIdeal, vs_engine_ceiling: rate / ceiling, cpu_ms_per_rollout: cpuPerRollout });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const pct = (x) => (x === null ? "n/a" : `${(x * 100).toFixed(0)}%`);
console.log(`rollouts: ${rollouts}, teacher latency ${latency} ms per call, 2 calls + 1 tool call (own container) per rollout`);
console.log(`engine floor: ${floorMs.toFixed(0)} CPU-ms per container (open, one command, close; ${calibrate} in a row) -> ceiling ${ceiling.toFixed(1)} rollouts/s on ${cores} cores`);
console.log("concurrency  seconds  rollouts/s  vs ideal (c x single)  vs model-only ideal  vs engine ceiling  CPU-ms/rollout");
for (const r of results) {
  console.log(
    `${String(r.concurrency).padStart(11)}  ${r.seconds.toFixed(2).padStart(7)}  ${r.rollouts_per_s.toFixed(2).padStart(10)}  ${pct(r.vs_ideal).padStart(21)}  ${pct(r.vs_model_only_ideal).padStart(19)}  ${pct(r.vs_engine_ceiling).padStart(17)}  ${r.cpu_ms_per_rollout.toFixed(0).padStart(14)}`,
  );
}
console.log(JSON.stringify({ rollouts, latency_ms: latency, cores, engine_floor_cpu_ms: floorMs, engine_ceiling_per_s: ceiling, results }));
