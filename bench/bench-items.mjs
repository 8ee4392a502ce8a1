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
// What an item does in the engine is recorded, not assumed: a small build (2 tasks x both arms,
// -j 1) runs with DOCKER_HOST pointing at a pass-through proxy of the Docker API (engine.mjs),
// which yields each item's container operations (create, start, the OOM event stream, every exec
// with its exact argv, user, workdir and stdin, exec inspects, the removal). Two engine ceilings
// are then measured by replaying with sabuild's sandbox code in a child process, one container
// after another: container-once (open, one command, close: what rollouts.mjs calibrates) and
// item-shaped (the recorded items' operations, in the arms' mix). Each reports CPU per item by
// whole machine (/proc/stat) and by process (the replaying client, dockerd, containerd and the
// shims of our containers, which include runc and the container's processes); the lowest batch
// counts (other work only adds). cores x 1000 / that is the ceiling in items/s. Each run reports
// its CPU per item the same two ways: machine, and the sabuild build (engine, loop, client, the
// in-process stand-ins) + dockerd + containerd + our shims. On a shared machine only the
// per-process figures mean much: "CPU share" (the item-shaped ceiling's CPU over the run's) is
// the most of the ceiling a CPU-bound run can reach. Both ceilings replay one item after another;
// for each concurrency above 1 the recorded items are also replayed that many at a time, and
// "vs replay" compares the run with the best such rate (by wall clock): what a harness with no
// work of its own reaches there, the engine's contention at that concurrency included.
//
// The harness overhead (concurrency 1, from the traces): an item's wall time (from its start to
// the next item's) less what it waited for: the stand-in's latency on each model call, the
// commands in the container, the wait for its start and the verifier. The container's removal is
// off the item's path (the runs node hands it on and waits for it at the end), so nothing is
// calibrated in. Reported per model turn and as a share of --latency.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { EngineCpu, engineCeiling, execOf, itemShapes, perItem, recordDockerApi } from "./engine.mjs";
import { log, options, positive, requireDist, round, summary, table } from "./lib.mjs";

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

function project(concurrency, n = tasks) {
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
  writeFileSync(join(dir, "bench.jsonl"), `${Array.from({ length: n }, (_, i) => task(i)).join("\n")}\n`);
  return dir;
}

/** The CPU this process has reaped from its children so far, in ms (/proc/self/stat cutime + cstime). */
function reapedCpuMs() {
  const f = readFileSync("/proc/self/stat", "utf8");
  const v = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return ((Number(v[13]) + Number(v[14])) * 1000) / 100;
}

/** Runs the CLI in `dir` and resolves with its --json output; `onPid` learns its pid at once. */
function sabuildAsync(dir, args, { env, onPid } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    onPid?.(String(child.pid));
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`sabuild ${args.join(" ")} failed (${code}) in ${dir}:\n${err}\n${out.slice(0, 4000)}`))));
  });
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
const cores = availableParallelism();

// What an item does in the engine, recorded from a real build (2 tasks x both arms, -j 1)
// through a pass-through proxy of the Docker API: each sandbox container's calls, in order.
const recording = await (async () => {
  const dir = project(1, 2);
  const api = await recordDockerApi(join(dir, "docker.sock"));
  try {
    sabuild(dir, ["build", "bench/tput:tasks", "runner:import", "--json"]);
    await sabuildAsync(dir, ["build", RUNS, "-j", "1", "--json"], { env: { DOCKER_HOST: api.dockerHost } });
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const { containers, other } = itemShapes(api.calls);
  const sandboxes = containers.filter((c) => c.labels["sabuild.role"] === "sandbox");
  if (sandboxes.length !== 4) throw new Error(`the recording build opened ${sandboxes.length} sandbox containers, expected 4 (one per item)`);
  return { shapes: sandboxes.map((c) => ({ ops: c.ops, execs: c.execs.map((e) => ({ ...execOf(e.body), ...(e.stdin !== undefined ? { stdin: e.stdin } : {}) })) })), other };
})();
const opsText = (ops) => Object.entries(ops).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(", ");
for (const s of recording.shapes) log(`recorded item: ${opsText(s.ops)}; commands: ${s.execs.map((e) => JSON.stringify(e.argv.at(-1)).slice(0, 60)).join(" | ")}`);

// Two ceilings, each replayed with sabuild's sandbox code in a child process, CPU per item from
// the processes (the replaying client, dockerd, containerd, our shims) and from /proc/stat:
// - container-once: open, one command, close (what rollouts.mjs calibrates);
// - item-shaped: the recorded items' own operations, in the benchmark's mix of arms.
const ONCE = [{ execs: [{ argv: ["sh", "-c", "ls / | wc -l"] }] }];
const once = await engineCeiling(image, ONCE, calibrate, { batch: 4 });
const shaped = await engineCeiling(image, recording.shapes.map((s) => ({ execs: s.execs })), Math.max(1, Math.round(calibrate / recording.shapes.length)), { batch: 1 }); // batches of the 4 recorded items
const ceilingOf = (c) => ({ ...c, per_s_processes: (cores * 1000) / c.per_item.engine, per_s_machine: (cores * 1000) / c.machine_cpu_ms });
const ceilings = { container_once: ceilingOf(once), item_shaped: ceilingOf(shaped) };
for (const [name, c] of Object.entries(ceilings)) log(`${name} ceiling: ${c.per_item.engine} CPU-ms per item in the processes (client ${c.per_item.client}, dockerd ${c.per_item.dockerd}, containerd ${c.per_item.containerd}, shims ${c.per_item.shims}) -> ${c.per_s_processes.toFixed(2)} items/s; machine ${c.machine_cpu_ms} CPU-ms -> ${c.per_s_machine.toFixed(2)} items/s`);
const ceiling = ceilings.item_shaped.per_s_machine;

// The same recorded items replayed c at a time (no model calls, nothing of the harness but the
// sandbox calls): what a harness with no work of its own reaches at each concurrency above 1, by
// wall clock. The ceilings above are serial; at -j 16 on two cores the engine's own work per
// item grows (runc and the kernel contend), which no harness can avoid. Per concurrency the best
// replay rate at or below it counts (one item after another included), so more items in flight
// than the engine likes never lowers the bar.
const replays = {};
for (const c of levels.filter((l) => l > 1)) {
  const rounds = Math.max(Math.round(calibrate / recording.shapes.length), Math.ceil((2 * c) / recording.shapes.length));
  const r = await engineCeiling(image, recording.shapes.map((s) => ({ execs: s.execs })), rounds, { batch: rounds, concurrency: c });
  replays[c] = { ...r, per_s: 1000 / r.per_item.wall_ms };
  log(`item-shaped replay at concurrency ${c}: ${replays[c].per_s.toFixed(2)} items/s, ${r.per_item.engine} CPU-ms per item in the processes (client ${r.per_item.client}, dockerd ${r.per_item.dockerd}, containerd ${r.per_item.containerd}, shims ${r.per_item.shims})`);
}
const replayBar = (c) => Math.max(1000 / ceilings.item_shaped.per_item.wall_ms, ...Object.entries(replays).filter(([k]) => Number(k) <= c).map(([, r]) => r.per_s));

const results = [];
let single;
let breakdown;
for (const c of levels) {
  const dir = project(c);
  try {
    sabuild(dir, ["build", "bench/tput:tasks", "runner:import", "--json"]);
    const load = loadavg()[0];
    const owners = new Set();
    const meter = new EngineCpu(() => owners).start();
    const before = { ...meter.snapshot(), sabuild: reapedCpuMs() };
    let built;
    try {
      built = await sabuildAsync(dir, ["build", RUNS, "-j", String(c), "--json"], { onPid: (pid) => owners.add(pid) });
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      meter.stop();
    }
    const after = { ...meter.snapshot(), sabuild: reapedCpuMs() };
    const n = 2 * tasks;
    const cpu = { ...perItem(before, after, n), sabuild: (after.sabuild - before.sabuild) / n };
    cpu.processes = cpu.sabuild + cpu.dockerd + cpu.containerd + cpu.shims;
    if (cpu.shim_containers !== n) log(`concurrency ${c}: the shims of ${cpu.shim_containers} containers seen, of ${n}: their CPU is missing from the shims' figure`);
    const stage = built.stages.find((s) => s.id === RUNS);
    if (stage.status !== "built" || stage.items?.run !== n) throw new Error(`${RUNS} ran ${JSON.stringify(stage.items)}, expected ${n} items`);
    const all = traces(dir);
    const unresolved = all.filter((t) => !t.verification?.passed).map((t) => `${t.task.id}.${t.arm}`);
    if (unresolved.length) throw new Error(`items not resolved (the harness is broken, not slow): ${unresolved.join(", ")}`);
    const rate = (n * 1000) / stage.durationMs;
    if (c === 1) {
      single = rate;
      breakdown = splits(all);
    }
    const ideal = single ? Math.min(c * single, ceiling) : null;
    results.push({
      concurrency: c,
      seconds: stage.durationMs / 1000,
      items_per_s: rate,
      ideal_per_s: ideal,
      vs_ideal: ideal ? rate / ideal : null,
      vs_uncapped_ideal: single ? rate / (c * single) : null,
      vs_item_ceiling: rate / ceiling,
      vs_container_once_ceiling: rate / ceilings.container_once.per_s_machine,
      // Against the recorded items replayed at this concurrency (the best rate at or below it).
      replay_per_s: c > 1 ? replayBar(c) : null,
      vs_replay: c > 1 ? rate / replayBar(c) : null,
      // CPU-bound, items/s can reach at most this share of the item-shaped ceiling: the
      // ceiling's CPU per item over the item's, both counted in the same processes.
      cpu_share_of_item_ceiling: ceilings.item_shaped.per_item.engine / cpu.processes,
      cpu_ms_per_item: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 1)])),
      load_average: [load, loadavg()[0]],
    });
    log(`concurrency ${c}: ${n} items in ${(stage.durationMs / 1000).toFixed(1)} s`);
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

const report = {
  load_average_at_start: startLoad,
  tasks,
  items: 2 * tasks,
  latency_ms: latency,
  cores,
  recorded_items: recording.shapes,
  recorded_other_calls: recording.other,
  ceilings,
  engine_ceiling_per_s: ceiling,
  replays,
  results,
  overhead,
};
if (o.json) console.log(JSON.stringify(report, null, 2));
else {
  const pct = (x) => (x === null ? "n/a" : `${(x * 100).toFixed(0)}%`);
  const c1 = ceilings.container_once;
  const ci = ceilings.item_shaped;
  const m = (c) => c.machine_cpu_ms;
  console.log(`${2 * tasks} items (${tasks} tasks x none, teacher), stand-ins answer after ${latency} ms`);
  console.log(`an item in the engine, as recorded from a real build: ${[...new Set(recording.shapes.map((s) => opsText(s.ops)))].join(" / ")}\n`);
  console.log(
    table([
      ["engine ceiling", "CPU-ms/item, machine", "items/s", "CPU-ms/item, processes", "items/s", "client", "dockerd", "containerd", "shims"],
      ["container once (rollouts.mjs)", m(c1), round(c1.per_s_machine, 2), c1.per_item.engine, round(c1.per_s_processes, 2), c1.per_item.client, c1.per_item.dockerd, c1.per_item.containerd, c1.per_item.shims],
      ["item-shaped (recorded ops)", m(ci), round(ci.per_s_machine, 2), ci.per_item.engine, round(ci.per_s_processes, 2), ci.per_item.client, ci.per_item.dockerd, ci.per_item.containerd, ci.per_item.shims],
      ...Object.entries(replays).map(([c, r]) => [`item-shaped, ${c} at a time (wall: ${round(r.per_s, 2)}/s)`, r.machine_cpu_ms, round((cores * 1000) / r.machine_cpu_ms, 2), r.per_item.engine, round((cores * 1000) / r.per_item.engine, 2), r.per_item.client, r.per_item.dockerd, r.per_item.containerd, r.per_item.shims]),
    ]),
  );
  console.log(`\n"vs ceiling" is against the item-shaped ceiling by machine CPU (/proc/stat): right on a quiet machine only. On a shared one read "CPU share": the item-shaped ceiling's CPU per item over the run's, both counted in the same processes (sabuild or the replaying client, dockerd, containerd, our shims); CPU-bound, items/s reaches at most that share of the ceiling. "vs replay" is against the recorded items replayed with at most c in flight (the best such rate, by wall clock): a harness with no work of its own, at this concurrency.\n`);
  console.log(
    table([
      ["c", "seconds", "items/s", "ideal/s", "vs ideal", "vs c x single", "vs ceiling", "vs once-ceiling", "vs replay", "CPU share", "CPU-ms/item: machine", "processes", "sabuild", "dockerd", "containerd", "shims", "load"],
      ...results.map((r) => [
        r.concurrency,
        round(r.seconds, 2),
        round(r.items_per_s, 2),
        r.ideal_per_s === null ? "n/a" : round(r.ideal_per_s, 2),
        pct(r.vs_ideal),
        pct(r.vs_uncapped_ideal),
        pct(r.vs_item_ceiling),
        pct(r.vs_container_once_ceiling),
        pct(r.vs_replay),
        pct(r.cpu_share_of_item_ceiling),
        ...["machine", "processes", "sabuild", "dockerd", "containerd", "shims"].map((k) => round(r.cpu_ms_per_item[k], 0)),
        r.load_average.map((l) => l.toFixed(1)).join("-"),
      ]),
    ]),
  );
  const past = results.filter((r) => r.vs_item_ceiling > 1).map((r) => r.concurrency);
  if (past.length) console.log(`\nconcurrency ${past.join(", ")} went past the machine-CPU ceiling: the calibration counted other work on the machine (load ${loadavg()[0].toFixed(1)}); read the CPU share`);
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
