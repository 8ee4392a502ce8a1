// Orchestrator benchmark throughput: the bench/<name>:runs node with stand-in models of fixed
// latency per call, at several concurrencies, against the ideal (concurrency x the single-item
// rate, capped by what the container engine can do on this machine).
//
//   node bench/bench-items.mjs [--items 16] [--latency 200] [--concurrency 1,4,16] [--calibrate 16] [--json] [--keep]
//
// --items tasks, each run in the arms none and teacher: 2 x --items items. Every concurrency
// builds a fresh project and store, so nothing comes from the response cache. An item is one
// container of the task's environment, opened beside the orchestrator's first call:
// - none: the orchestrator runs one Bash command, then finishes (2 model calls);
// - teacher: the orchestrator delegates to the `runner` subagent, which runs the same Bash
//   command and answers (2 + 2 model calls);
// then the task's verifier runs in that container (one more exec) and the container is removed.
//
// The engine ceiling: --calibrate containers opened, given the same two commands and closed one
// after another with sabuild's sandbox code, measuring the whole machine's CPU per container
// (/proc/stat), in batches of 4: the lowest batch counts, since other work on a shared machine
// only adds. cores x 1000 / that is the most items/s any concurrency can reach. Each run also
// splits its own CPU per item: the sabuild build (engine, loop, client, the in-process
// stand-ins), dockerd + containerd, and the rest (shims, runc, the kernel, other work).
//
// The harness overhead (concurrency 1, from the traces): an item's wall time (from its start to
// the next item's) less what it waited for: the stand-in's latency on each model call, the
// commands in the container, the wait for its start and the verifier. The container's removal is
// off the item's path (the runs node hands it on and waits for it at the end), so nothing is
// calibrated in. Reported per model turn and as a share of --latency.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { engineFloor, log, machineCpuMs, options, positive, requireDist, round, summary, table } from "./lib.mjs";

const usage = "node bench/bench-items.mjs [--items N (tasks; 2 arms each)] [--latency MS] [--concurrency 1,4,16] [--calibrate N] [--json] [--keep]";
const o = options(
  {
    items: { type: "string", default: "16" },
    latency: { type: "string", default: "200" },
    concurrency: { type: "string", default: "1,4,16" },
    calibrate: { type: "string", default: "16" },
    json: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
  usage,
);
const tasks = positive("items", o.items);
const latency = positive("latency", o.latency);
const calibrate = positive("calibrate", o.calibrate);
const levels = o.concurrency.split(",").map((c) => positive("concurrency", c));
const dist = requireDist();
const cli = join(dist, "cli/main.js");
const RUNS = "bench/tput:runs";

// The stand-ins wait --latency ms inside the policy, so the wait is part of every model call as
// the client sees it (model_ms), as a remote model's would be.
const MAIN = `const LATENCY = ${latency};
export async function policy(request) {
  await new Promise((r) => setTimeout(r, LATENCY));
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const n = /number (\\d+)/.exec(task)?.[1] ?? "0";
  if (request.messages.some((m) => m.role === "tool")) return { content: "Done." };
  const offered = (request.tools ?? []).some((t) => t.function.name === "Agent");
  return offered
    ? { tool_calls: [{ name: "Agent", arguments: { description: "write the number", prompt: "Write the number " + n + " to result.txt", subagent_type: "runner" } }] }
    : { tool_calls: [{ name: "Bash", arguments: { command: "echo " + n + " > result.txt" } }] };
}
`;
const SUB = `const LATENCY = ${latency};
export async function policy(request) {
  await new Promise((r) => setTimeout(r, LATENCY));
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const n = /number (\\d+)/.exec(task)?.[1] ?? "0";
  if (request.messages.some((m) => m.role === "tool")) return { content: "<final_answer>wrote " + n + "</final_answer>" };
  return { tool_calls: [{ name: "Bash", arguments: { command: "echo " + n + " > result.txt" } }] };
}
`;

function project(concurrency) {
  const dir = mkdtempSync(join(tmpdir(), "sabuild-bench-items-"));
  const config = [
    "version: 1",
    "subagents:",
    "  runner:",
    "    source:",
    "      inline: { description: Runs shell commands, prompt: You run commands in the workspace., tools: [Bash] }",
    `    teacher: { standin: sub.mjs, model: bench-sub, concurrency: ${concurrency} }`,
    "    sandbox: { recipe: shell }",
    "    tasks: { from: train.jsonl }",
    "benchmarks:",
    "  tput:",
    "    tasks: { from: bench.jsonl }",
    `    orchestrator: { standin: main.mjs, model: bench-main, tools: [Bash], max_turns: 4, concurrency: ${concurrency} }`,
    "    subagents: [runner]",
    "    arms: [none, teacher]",
    "    sandbox: { recipe: shell }",
    "",
  ];
  const task = (i) => JSON.stringify({ id: `t${i}`, prompt: `Put the number ${i} into result.txt`, verify: { command: `grep -qx ${i} result.txt` } });
  writeFileSync(join(dir, "subagents.yaml"), config.join("\n"));
  writeFileSync(join(dir, "main.mjs"), MAIN);
  writeFileSync(join(dir, "sub.mjs"), SUB);
  writeFileSync(join(dir, "train.jsonl"), `${JSON.stringify({ prompt: "run ls" })}\n`);
  writeFileSync(join(dir, "bench.jsonl"), `${Array.from({ length: tasks }, (_, i) => task(i)).join("\n")}\n`);
  return dir;
}

/** A process's CPU time in ms from /proc/<pid>/stat: its own (utime, stime) and its reaped children's (cutime, cstime). */
function processCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ").map(Number);
    return { own: ((f[11] + f[12]) * 1000) / 100, children: ((f[13] + f[14]) * 1000) / 100 };
  } catch {
    return { own: 0, children: 0 };
  }
}

const daemons = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && ["dockerd", "containerd"].includes(readFileSync(`/proc/${p}/comm`, "utf8").trim()));

/**
 * The machine's CPU in ms, and the parts we can name: the sabuild builds this script waited for
 * (engine, loop, client and the in-process stand-ins) and dockerd + containerd. The rest is the
 * containers' shims, runc and the kernel, plus whatever else runs on the machine.
 */
function cpuNow() {
  return { machine: machineCpuMs(), sabuild: processCpuMs("self").children, docker: daemons.reduce((n, p) => n + processCpuMs(p).own, 0) };
}

function cpuPerItem(from, to, n) {
  const d = Object.fromEntries(Object.keys(from).map((k) => [k, (to[k] - from[k]) / n]));
  return { machine: d.machine, sabuild: d.sabuild, docker: d.docker, rest: d.machine - d.sabuild - d.docker };
}

function sabuild(dir, args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`sabuild ${args.join(" ")} failed (${r.status}) in ${dir}:\n${r.stderr}\n${r.stdout.slice(0, 4000)}`);
  return JSON.parse(r.stdout);
}

function traces(dir) {
  const files = sabuild(dir, ["artifacts", RUNS, "--json"]).files.filter((f) => f.path.endsWith("/trace.json"));
  return files.map((f) => JSON.parse(readFileSync(f.blob, "utf8")));
}

/** An item's time, split by what it waited for; `wall` is from its start to the next item's. */
function split(t, wall) {
  const subs = t.delegations.map((d) => d.trace);
  const calls = t.usage.requests + subs.reduce((n, s) => n + s.usage.requests, 0);
  const turns = t.turns + subs.reduce((n, s) => n + s.turns, 0);
  const modelMs = t.timings.model_ms + subs.reduce((n, s) => n + s.timings.model_ms, 0);
  // The orchestrator's tool time holds each delegation, whose model time is counted above.
  const toolMs = t.timings.tool_ms - subs.reduce((n, s) => n + s.timings.duration_ms - s.timings.tool_ms, 0);
  const waitMs = t.timings.sandbox_wait_ms ?? 0;
  const verifyMs = t.verification?.duration_ms ?? 0;
  const overhead = wall - calls * latency - toolMs - waitMs - verifyMs;
  const modelBeyondLatency = modelMs - calls * latency;
  // Between the calls: the loop, the engine's work per item (trace, store) and the next item's start.
  const between = overhead - modelBeyondLatency;
  return { arm: t.arm, wall, calls, turns, modelMs, modelBeyondLatency, toolMs, waitMs, verifyMs, overhead, perTurn: overhead / turns, between, betweenPerTurn: between / turns };
}

/** At concurrency 1 the items run one after another: each one's wall time is the gap to the next start. */
function splits(all) {
  const sorted = [...all].sort((a, b) => Date.parse(a.timings.started_at) - Date.parse(b.timings.started_at));
  return sorted.slice(0, -1).map((t, i) => split(t, Date.parse(sorted[i + 1].timings.started_at) - Date.parse(t.timings.started_at)));
}

const startLoad = loadavg()[0];
log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${availableParallelism()} cores`);
const { buildRecipeImage } = await import(`${dist}/sandbox/index.js`);
// The image the runs node uses (same recipe and base, same tag): built here when missing.
const image = await buildRecipeImage({ recipe: "shell" });
const floor = await engineFloor(image, [["bash", "-c", "echo 3 > result.txt"], ["sh", "-c", "grep -qx 3 result.txt"]], calibrate, { batch: 4 });
const cores = availableParallelism();
const ceiling = (cores * 1000) / floor.cpuMs;
log(`engine floor ${floor.cpuMs.toFixed(0)} CPU-ms per container (2 commands; batches of 4: ${floor.batchesCpuMs.join(", ")}), close ${floor.closeMs} ms -> ceiling ${ceiling.toFixed(2)} items/s`);

const results = [];
let single;
let breakdown;
for (const c of levels) {
  const dir = project(c);
  try {
    sabuild(dir, ["build", "bench/tput:tasks", "runner:import", "--json"]);
    const load = loadavg()[0];
    const cpu0 = cpuNow();
    const built = sabuild(dir, ["build", RUNS, "-j", String(c), "--json"]);
    const cpu = cpuPerItem(cpu0, cpuNow(), 2 * tasks);
    const stage = built.stages.find((s) => s.id === RUNS);
    if (stage.status !== "built" || stage.items?.run !== 2 * tasks) throw new Error(`${RUNS} ran ${JSON.stringify(stage.items)}, expected ${2 * tasks} items`);
    const all = traces(dir);
    const unresolved = all.filter((t) => !t.verification?.passed).map((t) => `${t.task.id}.${t.arm}`);
    if (unresolved.length) throw new Error(`items not resolved (the harness is broken, not slow): ${unresolved.join(", ")}`);
    const rate = (2 * tasks * 1000) / stage.durationMs;
    if (c === 1) {
      single = rate;
      breakdown = splits(all);
    }
    const ideal = single ? Math.min(c * single, ceiling) : null;
    results.push({ concurrency: c, seconds: stage.durationMs / 1000, items_per_s: rate, ideal_per_s: ideal, vs_ideal: ideal ? rate / ideal : null, vs_uncapped_ideal: single ? rate / (c * single) : null, vs_engine_ceiling: rate / ceiling, cpu_ms_per_item: cpu, load_average: [load, loadavg()[0]] });
    log(`concurrency ${c}: ${2 * tasks} items in ${(stage.durationMs / 1000).toFixed(1)} s`);
  } finally {
    if (o.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const fields = ["wall", "calls", "turns", "modelMs", "modelBeyondLatency", "toolMs", "waitMs", "verifyMs", "overhead", "perTurn", "between", "betweenPerTurn"];
const medians = (rows) => (rows.length ? Object.fromEntries(fields.map((f) => [f, summary(rows.map((r) => r[f])).median])) : null);
const overhead = breakdown?.length && {
  items: breakdown.length,
  by_arm: Object.fromEntries(["none", "teacher"].map((arm) => [arm, medians(breakdown.filter((r) => r.arm === arm))])),
  per_turn_ms: summary(breakdown.map((r) => r.perTurn)),
  between_calls_per_turn_ms: summary(breakdown.map((r) => r.betweenPerTurn)),
};
if (overhead) overhead.vs_latency_pct = round((100 * overhead.per_turn_ms.median) / latency, 2);

const report = { load_average_at_start: startLoad, tasks, items: 2 * tasks, latency_ms: latency, cores, engine_floor_cpu_ms: floor.cpuMs, engine_floor_batches_cpu_ms: floor.batchesCpuMs, container_close_ms: floor.closeMs, engine_ceiling_per_s: ceiling, results, overhead };
if (o.json) console.log(JSON.stringify(report, null, 2));
else {
  const pct = (x) => (x === null ? "n/a" : `${(x * 100).toFixed(0)}%`);
  console.log(`${2 * tasks} items (${tasks} tasks x none, teacher), stand-ins answer after ${latency} ms; 1 container + 2 commands per item`);
  console.log(`engine floor ${floor.cpuMs.toFixed(0)} CPU-ms per container (lowest batch of 4 of ${floor.batchesCpuMs.join(", ")}) -> ceiling ${ceiling.toFixed(2)} items/s on ${cores} cores\n`);
  console.log(
    table([
      ["concurrency", "seconds", "items/s", "ideal items/s", "vs ideal", "vs c x single", "vs ceiling", "CPU-ms/item", "sabuild", "dockerd", "rest", "load"],
      ...results.map((r) => [r.concurrency, round(r.seconds, 2), round(r.items_per_s, 2), r.ideal_per_s === null ? "n/a" : round(r.ideal_per_s, 2), pct(r.vs_ideal), pct(r.vs_uncapped_ideal), pct(r.vs_engine_ceiling), ...["machine", "sabuild", "docker", "rest"].map((k) => round(r.cpu_ms_per_item[k], 0)), r.load_average.map((l) => l.toFixed(1)).join("-")]),
    ]),
  );
  const past = results.filter((r) => r.vs_engine_ceiling > 1).map((r) => r.concurrency);
  if (past.length) console.log(`\nconcurrency ${past.join(", ")} went past the ceiling: the calibration counted other work on the machine (load ${loadavg()[0].toFixed(1)}), so the ceiling and the capped ideal are too low`);
  if (overhead) {
    const a = overhead.by_arm;
    const row = (what, f) => [what, a.none?.[f] ?? "n/a", a.teacher?.[f] ?? "n/a"];
    console.log(`\nconcurrency 1, medians per item (ms; ${overhead.items} items with a successor):\n`);
    console.log(
      table([
        ["", "none", "teacher"],
        row("item wall time", "wall"),
        row("model calls", "calls"),
        row("model turns", "turns"),
        row("model time (client)", "modelMs"),
        row("  beyond the latency", "modelBeyondLatency"),
        row("tools in the container", "toolMs"),
        row("waiting for the container", "waitMs"),
        row("verifier", "verifyMs"),
        row("harness overhead", "overhead"),
        row("  per model turn", "perTurn"),
        row("  less the calls' own (loop, engine)", "between"),
        row("    per model turn", "betweenPerTurn"),
      ]),
    );
    console.log(`\nharness overhead per model turn: ${overhead.per_turn_ms.median} ms median, ${overhead.vs_latency_pct}% of the ${latency} ms latency (goal < 5%); ${overhead.between_calls_per_turn_ms.median} ms of it outside the model calls (client, HTTP and stand-in excluded)`);
  }
}
