// Sandbox benchmark: how long a rollout waits for its container, and the round trip of one tool
// command in it (openSandbox / exec / close from dist/sandbox), with the docker CLI as reference.
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { log, options, positive, requireDist, round, table } from "./lib.mjs";

const USAGE = `node bench/sandbox.mjs [options]
  --recipe NAME   recipe whose image is used (default shell; built first when missing)
  --starts N      containers opened and closed (default 10)
  --execs N       \`true\` commands in one container (default 200)
  --cli N         \`docker exec\` runs through the docker CLI, for reference (default 20; 0 skips)
  --json          print the figures as one JSON document on stdout`;

const opts = options(
  {
    recipe: { type: "string", default: "shell" },
    starts: { type: "string", default: "10" },
    execs: { type: "string", default: "200" },
    cli: { type: "string", default: "20" },
    json: { type: "boolean", default: false },
  },
  USAGE,
);
const starts = positive("starts", opts.starts);
const execs = positive("execs", opts.execs);
const cliRuns = Number(opts.cli) || 0;

const dist = requireDist();
const { buildRecipeImage, openSandbox } = await import(pathToFileURL(join(dist, "sandbox/index.js")).href);

function percentiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  return { runs: s.length, p50: round(at(50)), p95: round(at(95)), min: round(s[0]), max: round(s[s.length - 1]) };
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
let t0 = process.hrtime.bigint();
const image = await buildRecipeImage({ recipe: opts.recipe });
log(`image ${image.tag} ready in ${round(ms(t0))} ms`);

// Container start: openSandbox (create, start, OOM event subscription) up to the first command.
const open = [];
const firstExec = [];
const close = [];
for (let i = 0; i < starts; i++) {
  t0 = process.hrtime.bigint();
  const s = await openSandbox(image);
  open.push(ms(t0));
  t0 = process.hrtime.bigint();
  const r = await s.exec(["true"]);
  if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode}: ${r.stderr}`);
  firstExec.push(ms(t0));
  t0 = process.hrtime.bigint();
  await s.close();
  close.push(ms(t0));
}

// Exec round trip: one container, `true` over and over (what a Bash tool call costs at least).
const session = await openSandbox(image);
const exec = [];
const stdinExec = [];
let cli = [];
try {
  for (let i = 0; i < 5; i++) await session.exec(["true"]);
  for (let i = 0; i < execs; i++) {
    t0 = process.hrtime.bigint();
    const r = await session.exec(["true"]);
    exec.push(ms(t0));
    if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode}`);
  }
  for (let i = 0; i < Math.min(execs, 50); i++) {
    t0 = process.hrtime.bigint();
    await session.exec(["cat"], { stdin: "x".repeat(1000) });
    stdinExec.push(ms(t0));
  }
  const hasCli = spawnSync("docker", ["version"], { stdio: "ignore" }).status === 0;
  for (let i = 0; hasCli && i < cliRuns; i++) {
    t0 = process.hrtime.bigint();
    spawnSync("docker", ["exec", session.containerId, "true"], { stdio: "ignore" });
    cli.push(ms(t0));
  }
} finally {
  await session.close();
}

const figures = {
  recipe: opts.recipe,
  image: image.tag,
  loadavg: loadavg().map((x) => round(x, 2)),
  open: percentiles(open),
  firstExec: percentiles(firstExec),
  close: percentiles(close),
  exec: percentiles(exec),
  execWithStdin: percentiles(stdinExec),
  ...(cli.length ? { dockerCliExec: percentiles(cli) } : {}),
};

if (opts.json) console.log(JSON.stringify(figures, null, 2));
else {
  const row = (name, p) => [name, p.runs, p.p50, p.p95, p.min, p.max];
  const rows = [
    ["what (ms)", "runs", "p50", "p95", "min", "max"],
    row("openSandbox (create + start)", figures.open),
    row("first exec in a new container", figures.firstExec),
    row("close (remove -f)", figures.close),
    row("exec true", figures.exec),
    row("exec cat, 1 KB stdin", figures.execWithStdin),
  ];
  if (figures.dockerCliExec) rows.push(row("docker exec true (CLI, reference)", figures.dockerCliExec));
  console.log(table(rows));
}
