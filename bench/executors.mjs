// The Slurm executor's overhead: a map stage of N items with a fixed latency per item (the
// map-traces test plugin's SLOW_MS, standing in for a teacher's reply), run locally at -j 4 and
// as one Slurm array of 4 tasks (items_per_task N/4, one item at a time per task: the same
// concurrency), results back through nginx. Also measures the scheduler's own latency (sbatch
// of a 4-task array of /bin/true until all have ended), which sabuild cannot remove.
// Needs root and Debian (tests/support/slurm-cluster.sh up) and nginx.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { nginxConf } from "../tests/support/nginx-conf.mjs";
import { log, options, positive, REPO, requireDist, round, table, timed } from "./lib.mjs";

const USAGE = `node bench/executors.mjs [--items 200] [--latency-ms 200] [--tasks 4] [--poll 0.5] [--json] [--keep]`;
const o = options({ items: { type: "string" }, "latency-ms": { type: "string" }, tasks: { type: "string" }, poll: { type: "string" }, json: { type: "boolean" }, keep: { type: "boolean" } }, USAGE);
const items = positive("items", o.items ?? "200");
const latency = positive("latency-ms", o["latency-ms"] ?? "200");
const tasks = positive("tasks", o.tasks ?? "4");
const poll = positive("poll", o.poll ?? "0.5", { integer: false });
const CLI = join(requireDist(), "cli/main.js");
const up = spawnSync(join(REPO, "tests/support/slurm-cluster.sh"), ["up"], { encoding: "utf8" });
if (up.status !== 0) throw new Error(`no Slurm cluster: ${up.stderr}`);

const work = mkdtempSync(join(tmpdir(), "sabuild-bench-executors-"));
const port = 20000 + Math.floor(Math.random() * 20000);
mkdirSync(join(work, "nginx/data"), { recursive: true });
writeFileSync(join(work, "nginx/nginx.conf"), nginxConf({ dir: join(work, "nginx"), data: join(work, "nginx/data"), port }));
const nginx = spawn("nginx", ["-p", join(work, "nginx"), "-c", join(work, "nginx/nginx.conf")], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 500));

function project(name, executor) {
  const dir = join(work, name);
  mkdirSync(join(dir, "plugins"), { recursive: true });
  copyFileSync(join(REPO, "tests/fixtures/plugins/map-traces.mjs"), join(dir, "plugins/map-traces.mjs"));
  const lines = ["version: 1", "plugins: [plugins/map-traces.mjs]"];
  if (executor) lines.push("executors:", `  slurm: { type: slurm, items_per_task: ${Math.ceil(items / tasks)}, jobs_per_task: 1, poll_s: ${poll} }`);
  lines.push("subagents:", "  alpha:", "    until: traces", "    source: { inline: { description: d, prompt: p } }", "    tasks: { from: tasks.jsonl, holdout: 0, count: 1 }");
  if (executor) lines.push("    executor: { traces: slurm }");
  writeFileSync(join(dir, "subagents.yaml"), `${lines.join("\n")}\n`);
  for (let i = 1; i <= items; i++) appendFileSync(join(dir, "tasks.jsonl"), `${JSON.stringify({ id: `t${i}`, prompt: `task ${i}` })}\n`);
  return dir;
}

const env = (prefix) => ({ ...process.env, CI: "1", SLOW_MS: String(latency), SABUILD_REMOTE_CACHE: `http://127.0.0.1:${port}/${prefix}` });
const build = (dir, prefix, args) => {
  // Everything upstream first: the timed build runs the map stage alone.
  timed(process.execPath, [CLI, "build", "alpha:tasks"], { cwd: dir, env: env(prefix) });
  return timed(process.execPath, [CLI, "build", ...args], { cwd: dir, env: env(prefix) }).ms;
};

/** sbatch of a `tasks`-task array of /bin/true, until scontrol shows every task ended. */
function schedulerLatency() {
  const script = join(work, "true.sh");
  writeFileSync(script, "#!/bin/sh\ntrue\n", { mode: 0o755 });
  const started = Date.now();
  const id = timed("sbatch", ["--parsable", `--array=0-${tasks - 1}`, "-o", "/dev/null", script]).stdout.trim();
  const submitMs = Date.now() - started;
  for (;;) {
    const out = spawnSync("scontrol", ["show", "job", id, "-o"], { encoding: "utf8" }).stdout;
    const ended = (out.match(/JobState=(COMPLETED|FAILED)/g) ?? []).length;
    if (ended >= tasks) break;
    spawnSync("sleep", ["0.05"]);
  }
  return { submitMs, endMs: Date.now() - started };
}

try {
  log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const sched = [schedulerLatency(), schedulerLatency(), schedulerLatency()].sort((a, b) => a.endMs - b.endMs)[1];
  log(`scheduler: sbatch ${sched.submitMs} ms, a ${tasks}-task array of true ended after ${sched.endMs} ms`);
  const localMs = build(project("local"), "local", ["-j", "4"]);
  log(`local -j 4: ${round(localMs / 1000, 2)} s`);
  const slurmMs = build(project("slurm", true), "slurm", ["-j", "4"]);
  log(`slurm array of ${tasks}: ${round(slurmMs / 1000, 2)} s`);
  const ideal = (items / 4) * latency;
  const overhead = slurmMs - localMs;
  const beyond = overhead - sched.endMs;
  const result = {
    items,
    latencyMs: latency,
    tasks,
    pollS: poll,
    idealMs: ideal,
    localMs: round(localMs),
    slurmMs: round(slurmMs),
    scheduler: sched,
    overheadMs: round(overhead),
    perJobMs: round(overhead / tasks),
    perItemMs: round(overhead / items, 2),
    beyondSchedulerMs: round(beyond),
    beyondSchedulerPct: round((100 * beyond) / localMs, 1),
  };
  if (o.json) console.log(JSON.stringify(result, null, 1));
  else {
    console.log(
      table([
        ["run", "wall s", "vs ideal s"],
        [`local -j 4`, round(localMs / 1000, 2), round((localMs - ideal) / 1000, 2)],
        [`slurm, ${tasks} array tasks`, round(slurmMs / 1000, 2), round((slurmMs - ideal) / 1000, 2)],
      ]),
    );
    console.log(`\noverhead ${round(overhead / 1000, 2)} s: ${result.perJobMs} ms per job, ${result.perItemMs} ms per item; the scheduler's own (sbatch to all ended): ${sched.endMs} ms; beyond it: ${result.beyondSchedulerPct}% of the local run (goal < 10%)`);
  }
} finally {
  nginx.kill("SIGTERM");
  if (!o.keep) rmSync(work, { recursive: true, force: true });
}
