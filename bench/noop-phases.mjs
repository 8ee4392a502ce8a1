// Where a no-op `sabuild build` spends its wall time, phase by phase, from the compiled modules.
// Each run is a fresh process (as a CLI run is), repeating what `build` does on an up-to-date
// project: load modules, config, store, plugins and lock file, evaluate every stage, rewrite
// the lock file if it changed, save the stat cache and record the build.
// usage: node bench/noop-phases.mjs -C PROJECT [--runs 5] [--cli-dist DIR] [--json]
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { options, requireDist, round, summary, table } from "./lib.mjs";

const USAGE = "node bench/noop-phases.mjs -C PROJECT [--runs 5] [--dist DIR] [--json]\n  PROJECT must be built already (e.g. noop-build.mjs --keep leaves /tmp/sabuild-bench/sabuild-project)";

async function child(project, dist) {
  const marks = [["node bootstrap", performance.now()]];
  const mark = (name) => marks.push([name, performance.now()]);
  const mod = (p) => import(pathToFileURL(join(dist, p)).href);
  const [{ loadConfig }, { openStore }, { loadPlugins }, stages, { readLockfile, renderLockfile }, { buildGraph }, { buildNodes }, atomic] = await Promise.all([
    mod("config/index.js"),
    mod("store/index.js"),
    mod("plugins.js"),
    mod("stages/index.js"),
    mod("lockfile.js"),
    mod("graph.js"),
    mod("build.js"),
    mod("store/atomic.js"),
  ]);
  // What `build` loads besides: the command module and the plain renderer.
  await Promise.all([mod("cli/commands/build.js"), mod("logging/plain.js")]);
  mark("import modules");
  const loaded = await loadConfig(join(project, "subagents.yaml"));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const config = loaded.value;
  mark("load config (yaml + zod)");
  const store = await openStore(config.store);
  mark("open store (stat cache)");
  const plugins = await loadPlugins(config.root, config.plugins, store.stat);
  mark("load plugins");
  const lockPath = join(config.root, "sabuild.lock");
  const lock = await readLockfile(lockPath, "sabuild.lock");
  mark("read sabuild.lock (yaml)");
  const nodes = buildGraph(config, stages.stageMap([...stages.builtinStages(), ...plugins.stages]));
  const env = { project: config, store, lock: lock.value, toolchainOf: (n) => plugins.identity.get(n.stage.kind) ?? {} };
  mark("build graph");
  const outcomes = await buildNodes({ ...env, events: () => undefined, jobs: 2, signal: new AbortController().signal }, nodes);
  if (outcomes.some((o) => o.status === "built")) throw new Error("not a no-op: some stage was built");
  mark("evaluate stages (hash, key, ac, isComplete, touch, lock entry)");
  const entries = {};
  for (const o of outcomes) if (o.lockEntry) entries[o.id] = o.lockEntry;
  const text = renderLockfile(entries);
  mark("render sabuild.lock (yaml)");
  const same = (await readFile(lockPath, "utf8")) === text;
  mark(`compare sabuild.lock (${same ? "unchanged" : "CHANGED"})`);
  await store.stat.save();
  mark("save stat cache");
  const stagesDone = outcomes.filter((o) => o.key && o.output).map((o) => ({ id: o.id, key: o.key, output: o.output }));
  const record = `${JSON.stringify({ project: config.root, stages: stagesDone }, null, 1)}\n`;
  await atomic.writeFileAtomic(join(store.root, "tmp", `phases-${process.pid}.json`), record);
  mark(`write build record (${round(record.length / 1024)} KiB)`);
  const phases = marks.map(([name, t], i) => [name, t - (i ? marks[i - 1][1] : 0)]);
  process.stdout.write(JSON.stringify({ stages: nodes.length, phases }));
}

function parent() {
  const opts = options({ C: { type: "string", short: "C" }, runs: { type: "string", default: "5" }, dist: { type: "string" }, json: { type: "boolean", default: false }, child: { type: "boolean", default: false } }, USAGE);
  const dist = resolve(opts.dist ?? requireDist());
  if (!opts.C) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const project = resolve(opts.C);
  if (opts.child) return child(project, dist);
  const runs = [];
  for (let r = 0; r < Number(opts.runs); r++) {
    const started = process.hrtime.bigint();
    const out = spawnSync(process.execPath, [new URL(import.meta.url).pathname, "--child", "-C", project, "--dist", dist], { encoding: "utf8" });
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    if (out.status !== 0) throw new Error(out.stderr);
    runs.push({ wall, ...JSON.parse(out.stdout) });
  }
  const names = runs[0].phases.map(([n]) => n);
  const rows = names.map((n, i) => [n, summary(runs.map((r) => r.phases[i][1])).median]);
  const wall = summary(runs.map((r) => r.wall));
  const accounted = rows.reduce((a, [, ms]) => a + ms, 0);
  rows.push(["process exit and the rest (wall - sum)", round(wall.median - accounted)]);
  if (opts.json) return console.log(JSON.stringify({ project, stages: runs[0].stages, wall, phases: Object.fromEntries(rows) }, null, 2));
  console.log(`no-op build phases, ${runs[0].stages} stages, median of ${runs.length} fresh processes (wall median ${wall.median} ms)\n`);
  console.log(table([["phase", "median ms"], ...rows.map(([n, ms]) => [n, round(ms)])]));
}

await parent();
