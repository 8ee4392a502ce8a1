// Rollout throughput: the traces stage with a stand-in teacher of fixed latency per call, at
// several concurrencies, against the ideal (concurrency x the single-rollout rate).
//
//   node bench/rollouts.mjs [--rollouts 32] [--latency 200] [--concurrency 1,4,16]
//
// Every run uses a fresh project and store, so nothing comes from the response cache. Each
// rollout makes two model calls and one tool call in its own container (start + exec + removal).
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { options, positive, REPO, requireDist } from "./lib.mjs";

const usage = "node bench/rollouts.mjs [--rollouts N] [--latency MS] [--concurrency 1,4,16]";
const o = options({ rollouts: { type: "string", default: "32" }, latency: { type: "string", default: "200" }, concurrency: { type: "string", default: "1,4,16" } }, usage);
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

// Warm-up: builds the sandbox image once (the stage is keyed per project, the image is shared).
{
  const dir = project(1);
  spawnSync(process.execPath, [cli, "build", "bench:sandbox"], { cwd: dir });
  rmSync(dir, { recursive: true, force: true });
}

const results = [];
let single;
for (const c of levels) {
  const dir = project(c);
  try {
    const ms = build(dir, c);
    const rate = (rollouts / ms) * 1000;
    single ??= c === 1 ? rate : undefined;
    const modelIdeal = (c / ((2 * latency) / 1000));
    results.push({ concurrency: c, seconds: ms / 1000, rollouts_per_s: rate, vs_ideal: single ? rate / (single * c) : null, vs_model_only_ideal: rate / modelIdeal });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`rollouts: ${rollouts}, teacher latency ${latency} ms per call, 2 calls + 1 tool call (own container) per rollout`);
console.log("concurrency  seconds  rollouts/s  vs ideal (c x single)  vs model-only ideal");
for (const r of results) {
  console.log(`${String(r.concurrency).padStart(11)}  ${r.seconds.toFixed(2).padStart(7)}  ${r.rollouts_per_s.toFixed(2).padStart(10)}  ${(r.vs_ideal === null ? "n/a" : `${(r.vs_ideal * 100).toFixed(0)}%`).padStart(21)}  ${`${(r.vs_model_only_ideal * 100).toFixed(0)}%`.padStart(19)}`);
}
console.log(JSON.stringify({ rollouts, latency_ms: latency, results }));
