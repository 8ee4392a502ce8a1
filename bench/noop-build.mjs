// No-op build benchmark: how long `sabuild build` takes when nothing changed, on a project of
// 100 subagents x 10 stages with ~2 GiB in the store, next to `turbo run build` with everything
// cached on a 100-package npm workspace. Both are timed from spawn to exit, as a user sees them.
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync, copyFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { log, options, positive, REPO, requireDist, round, summary, table, timed } from "./lib.mjs";

const USAGE = `node bench/noop-build.mjs [options]
  --subagents N       subagents in the sabuild project (default 100; 10 stages each)
  --total-gib X       artifact bytes in the store, spread over the subagents (default 2)
  --runs N            timed no-op runs of each command (default 5)
  --jobs N            sabuild -j (default 2)
  --turbo-packages N  packages in the turbo monorepo (default: same as --subagents)
  --dir PATH          work directory, wiped first (default /tmp/sabuild-bench)
  --no-turbo          skip the turbo side
  --turbo-no-git      do not make the turbo monorepo a git repository (turbo then hashes files itself)
  --keep              keep the work directory (and its ~2 GiB store) afterwards
  --json              print the figures as one JSON document on stdout`;

const opts = options(
  {
    subagents: { type: "string", default: "100" },
    "total-gib": { type: "string", default: "2" },
    runs: { type: "string", default: "5" },
    jobs: { type: "string", default: "2" },
    "turbo-packages": { type: "string" },
    dir: { type: "string", default: "/tmp/sabuild-bench" },
    "no-turbo": { type: "boolean", default: false },
    "turbo-no-git": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
  USAGE,
);
const SUBAGENTS = positive("subagents", opts.subagents);
const TOTAL_GIB = positive("total-gib", opts["total-gib"], { integer: false });
const RUNS = positive("runs", opts.runs);
const JOBS = positive("jobs", opts.jobs);
const PACKAGES = positive("turbo-packages", opts["turbo-packages"] ?? opts.subagents);
const WORK = opts.dir;
const TASKS_PER_SUBAGENT = 40;
// Logs off: the no-op is about deciding that nothing needs to run, not about printing.
const TURBO_BUILD = ["run", "build", "--output-logs=none", "--ui=stream"];

const NODE = process.execPath;
// npm and the build scripts must find the same Node that runs this script.
const ENV = {
  ...process.env,
  PATH: `${dirname(NODE)}:${process.env.PATH}`,
  CI: "1",
  TURBO_TELEMETRY_DISABLED: "1",
  TURBO_NO_UPDATE_NOTIFIER: "1",
  DO_NOT_TRACK: "1",
};

function pad(i) {
  return String(i).padStart(3, "0");
}

/**
 * A private copy of the compiled CLI: other people rebuild dist/ while this runs for minutes,
 * and every run must time the same code. node_modules is shared through a link.
 */
function snapshotCli() {
  const dist = requireDist();
  const root = join(WORK, "sabuild-cli");
  cpSync(dist, join(root, "dist"), { recursive: true, preserveTimestamps: true });
  copyFileSync(join(REPO, "package.json"), join(root, "package.json"));
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
  return join(root, "dist/cli/main.js");
}

function makeSabuildProject() {
  const dir = join(WORK, "sabuild-project");
  mkdirSync(join(dir, "tasks"), { recursive: true });
  mkdirSync(join(dir, "plugins"), { recursive: true });
  copyFileSync(join(REPO, "bench/pipeline-plugin.mjs"), join(dir, "plugins/bench-stages.mjs"));
  const perSubagentMib = (TOTAL_GIB * 1024) / SUBAGENTS;
  const adapterMib = Math.max(1, Math.round(perSubagentMib / 5));
  const ggufMib = Math.max(1, Math.round(perSubagentMib - adapterMib));
  writeFileSync(join(dir, "bench.json"), `${JSON.stringify({ adapter_mib: adapterMib, gguf_mib: ggufMib })}\n`);
  const yaml = ["version: 1", "plugins: [plugins/bench-stages.mjs]", "subagents:"];
  for (let i = 0; i < SUBAGENTS; i++) {
    const name = `agent-${pad(i)}`;
    yaml.push(
      `  ${name}:`,
      "    source:",
      "      inline:",
      `        description: Benchmark subagent ${i}, which answers questions about module ${i}`,
      `        prompt: You are subagent ${i}. Answer questions about module ${i} briefly.`,
      "    tasks:",
      `      from: tasks/${name}.jsonl`,
      "      holdout: 0.1",
      // All tasks are written here: the teacher is never asked (count defaults to 100).
      `      count: ${TASKS_PER_SUBAGENT}`,
    );
    const tasks = Array.from({ length: TASKS_PER_SUBAGENT }, (_, t) => JSON.stringify({ id: `t${t}`, prompt: `subagent ${i} task ${t}: explain function f${t} of module ${i}` }));
    writeFileSync(join(dir, "tasks", `${name}.jsonl`), `${tasks.join("\n")}\n`);
  }
  writeFileSync(join(dir, "subagents.yaml"), `${yaml.join("\n")}\n`);
  return { dir, adapterMib, ggufMib };
}

function sabuild(cli, project, args) {
  return timed(NODE, [cli, ...args, "-C", project], { env: ENV });
}

function assertNoop(label, out) {
  const doc = JSON.parse(out.stdout);
  const counts = {};
  for (const s of doc.stages) counts[s.status] = (counts[s.status] ?? 0) + 1;
  const busy = doc.stages.filter((s) => s.status === "built" || s.status === "failed" || s.status === "will-run");
  if (busy.length) throw new Error(`${label} was not a no-op: ${JSON.stringify(counts)} (first: ${busy[0].id} ${busy[0].status})`);
  return { counts, stages: doc.stages.length, durationMs: doc.durationMs };
}

function du(path) {
  const out = timed("du", ["-sk", path]).stdout;
  return Number(out.split("\t")[0]) * 1024;
}

/** Cold build, checked: every stage must have been built. */
function setUpSabuild() {
  const cli = snapshotCli();
  const { dir, adapterMib, ggufMib } = makeSabuildProject();
  log(`sabuild: ${SUBAGENTS} subagents, ${adapterMib} MiB adapter + ${ggufMib} MiB gguf each, in ${dir}`);
  const cold = sabuild(cli, dir, ["build", "-j", String(JOBS), "--json"]);
  const doc = JSON.parse(cold.stdout);
  const built = doc.stages.filter((s) => s.status === "built").length;
  if (!doc.ok || built !== doc.stages.length) {
    const bad = doc.stages.find((s) => s.status !== "built");
    throw new Error(`cold build: ${built} of ${doc.stages.length} stages built; first other: ${bad?.id} ${bad?.status} ${bad?.error ?? ""}`);
  }
  log(`sabuild: cold build of ${built} stages in ${round(cold.ms / 1000)} s`);
  return { cli, dir, stages: doc.stages.length, coldMs: round(cold.ms), storeBytes: du(join(dir, "cache")), artifactMib: { adapter: adapterMib, gguf: ggufMib } };
}

function makeTurboRepo(npmVersion) {
  const dir = join(WORK, "turbo-monorepo");
  mkdirSync(join(dir, "packages"), { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "bench-monorepo", private: true, workspaces: ["packages/*"], packageManager: `npm@${npmVersion}`, devDependencies: { turbo: "^2" } }, null, 2)}\n`,
  );
  writeFileSync(join(dir, "turbo.json"), `${JSON.stringify({ $schema: "https://turbo.build/schema.json", tasks: { build: { dependsOn: ["^build"], outputs: ["dist/**"] } } }, null, 2)}\n`);
  writeFileSync(join(dir, ".gitignore"), "node_modules/\ndist/\n.turbo/\n");
  const build = `node -e "const fs=require('fs');fs.mkdirSync('dist',{recursive:true});fs.copyFileSync('src/index.js','dist/index.js')"`;
  for (let i = 0; i < PACKAGES; i++) {
    const pkg = join(dir, "packages", `pkg-${pad(i)}`);
    mkdirSync(join(pkg, "src"), { recursive: true });
    writeFileSync(join(pkg, "package.json"), `${JSON.stringify({ name: `@bench/pkg-${pad(i)}`, version: "1.0.0", private: true, scripts: { build } }, null, 2)}\n`);
    writeFileSync(join(pkg, "src/index.js"), `export const id = ${i};\n`);
  }
  return dir;
}

/** The platform binary that turbo's npm shim (a Node script) starts. */
function nativeTurbo(dir) {
  const scoped = join(dir, "node_modules/@turbo");
  const candidates = existsSync(scoped) ? readdirSync(scoped).map((n) => join(scoped, n, "bin/turbo")) : [];
  return candidates.find((p) => existsSync(p));
}

/** Installs turbo and runs the build once, filling its cache. */
function setUpTurbo() {
  const npmVersion = timed("npm", ["--version"], { env: ENV }).stdout.trim();
  const dir = makeTurboRepo(npmVersion);
  log(`turbo: installing turbo@2 into ${dir} (npm ${npmVersion})`);
  timed("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, env: ENV });
  if (!opts["turbo-no-git"]) {
    const git = (...args) => timed("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", ...args], { cwd: dir, env: ENV });
    git("init", "-q");
    git("add", "-A");
    git("commit", "-qm", "bench monorepo");
  }
  const shim = join(dir, "node_modules/.bin/turbo");
  const version = timed(shim, ["--version"], { cwd: dir, env: ENV }).stdout.trim();
  const first = timed(shim, TURBO_BUILD, { cwd: dir, env: ENV });
  log(`turbo ${version}: first run (fills the cache) ${round(first.ms / 1000)} s`);
  return { dir, shim, native: nativeTurbo(dir), version, npm: npmVersion, git: !opts["turbo-no-git"], tasks: PACKAGES, firstMs: round(first.ms) };
}

function assertCached(label, out) {
  const m = /Cached:\s+(\d+) cached, (\d+) total/.exec(out.stdout);
  if (!m || m[1] !== m[2] || Number(m[2]) !== PACKAGES) throw new Error(`${label}: not fully cached:\n${out.stdout.slice(-2000)}`);
}

/**
 * The timed commands, one round at a time: each round runs every command once, so a burst of
 * load from elsewhere on the machine hits all of them alike instead of one tool's whole series.
 */
function measure(s, t) {
  const series = {};
  const add = (name, ms) => (series[name] ??= []).push(ms);
  const engine = [];
  let statuses;
  for (let r = 1; r <= RUNS; r++) {
    const build = sabuild(s.cli, s.dir, ["build", "-j", String(JOBS), "--json"]);
    const checked = assertNoop(`no-op build ${r}`, build);
    statuses = checked.counts;
    engine.push(checked.durationMs);
    add("sabuildBuild", build.ms);
    const plan = sabuild(s.cli, s.dir, ["plan", "--json"]);
    assertNoop(`plan ${r}`, plan);
    add("sabuildPlan", plan.ms);
    if (t) {
      const shim = timed(t.shim, TURBO_BUILD, { cwd: t.dir, env: ENV });
      assertCached(`turbo no-op ${r}`, shim);
      add("turboBuild", shim.ms);
      if (t.native) {
        const native = timed(t.native, TURBO_BUILD, { cwd: t.dir, env: ENV });
        assertCached(`turbo (native) no-op ${r}`, native);
        add("turboBuildNative", native.ms);
      }
      add("turboDry", timed(t.shim, ["run", "build", "--dry=json"], { cwd: t.dir, env: ENV }).ms);
    }
    add("nodeStartup", timed(NODE, ["-e", "0"]).ms);
    log(`round ${r}/${RUNS}: sabuild build ${round(build.ms)} ms (engine ${checked.durationMs} ms), plan ${round(plan.ms)} ms${t ? `, turbo ${round(series.turboBuild.at(-1))} ms` : ""}`);
  }
  return { series: Object.fromEntries(Object.entries(series).map(([k, v]) => [k, summary(v)])), engine: summary(engine), statuses };
}

function report(r) {
  const { sabuild: s, turbo: t, timings: m } = r;
  const base = m.series.turboBuild?.median;
  const row = (tool, what, count, x) => [tool, what, count, x.median, x.min, x.max, base ? round(x.median / base, 2) : ""];
  const rows = [
    ["tool", "command", "stages/tasks", "median ms", "min ms", "max ms", "vs turbo"],
    row("sabuild", `build -j ${JOBS} --json (no-op)`, s.stages, m.series.sabuildBuild),
    row("sabuild", "plan --json", s.stages, m.series.sabuildPlan),
  ];
  if (t) {
    rows.push(row("turbo", "run build (FULL TURBO)", t.tasks, m.series.turboBuild));
    if (m.series.turboBuildNative) rows.push(row("turbo", "same, native binary", t.tasks, m.series.turboBuildNative));
    rows.push(row("turbo", "run build --dry=json", t.tasks, m.series.turboDry));
  }
  rows.push(row("node", "-e 0 (startup floor)", "-", m.series.nodeStartup));
  const gib = (b) => `${round(b / 1024 ** 3, 2)} GiB`;
  return [
    `no-op builds: ${RUNS} rounds, wall time from spawn to exit (node ${process.version}, ${cpus().length} CPUs, load average before: ${r.loadBefore})`,
    "",
    table(rows),
    "",
    `sabuild: ${s.stages} stages (${round(s.stages / SUBAGENTS, 1)} per subagent), store (du cache/) ${gib(s.storeBytes)}, cold build ${round(s.coldMs / 1000)} s with -j ${JOBS}`,
    `sabuild no-op statuses: ${JSON.stringify(m.statuses)}; in-process time reported by build --json: median ${m.engine.median} ms`,
    ...(t
      ? [
          `turbo ${t.version} (npm ${t.npm}${t.git ? ", in a git repo" : ", no git"}): ${t.tasks} tasks, first run ${round(t.firstMs / 1000)} s`,
          `sabuild no-op / turbo no-op: ${round(m.series.sabuildBuild.median / base, 2)}x (${round(m.series.sabuildBuild.median / s.stages, 2)} ms per stage vs ${round(base / t.tasks, 2)} ms per task)`,
        ]
      : []),
  ].join("\n");
}

function main() {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  let turbo;
  try {
    const loadBefore = loadavg().map((x) => round(x, 2)).join(" ");
    const sab = setUpSabuild();
    turbo = opts["no-turbo"] ? undefined : setUpTurbo();
    const timings = measure(sab, turbo);
    const result = { loadBefore, sabuild: sab, turbo, timings };
    const turboMedian = timings.series.turboBuild?.median;
    const ratio = turboMedian ? round(timings.series.sabuildBuild.median / turboMedian, 2) : undefined;
    if (opts.json) console.log(JSON.stringify({ subagents: SUBAGENTS, totalGib: TOTAL_GIB, runs: RUNS, jobs: JOBS, node: process.version, ratioToTurbo: ratio, ...result }, null, 2));
    else console.log(report(result));
  } finally {
    if (turbo) timed(turbo.shim, ["daemon", "stop"], { cwd: turbo.dir, env: ENV, allowFailure: true });
    if (!opts.keep) rmSync(WORK, { recursive: true, force: true });
  }
}

main();
