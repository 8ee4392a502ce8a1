// Environments benchmark: the sandbox stage of a subagent whose tasks run in 20 repositories at
// their commits, all on one recipe (issue 12). How long the images take to build cold (with and
// without the shared base), a no-op, one commit changed, and the disk the images take; next to
// plain `docker build`s of the same images by hand, the floor.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { log, options, positive, REPO, requireDist, round, summary, table, timed } from "./lib.mjs";

const USAGE = `node bench/environments.mjs [options]
  --envs N              repositories, one environment each (default 20)
  --runs N              no-op rounds, one-commit-changed rounds and single hand builds (default 3)
  --jobs N              sabuild -j (default 2)
  --build-jobs N        sandbox.build_jobs, and hand builds at once (default 2)
  --recipe NAME         shipped recipe the environments build on (default python-repo)
  --reuse-base-layers   let the base image come from the engine's layer cache (no apt download)
  --dir PATH            work directory, wiped first (default /tmp/sabuild-bench-envs)
  --keep                keep the work directory and the images afterwards
  --json                print the figures as one JSON document on stdout`;

const opts = options(
  {
    envs: { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
    jobs: { type: "string", default: "2" },
    "build-jobs": { type: "string", default: "2" },
    recipe: { type: "string", default: "python-repo" },
    "reuse-base-layers": { type: "boolean", default: false },
    dir: { type: "string", default: "/tmp/sabuild-bench-envs" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
  USAGE,
);
const ENVS = positive("envs", opts.envs);
const RUNS = positive("runs", opts.runs);
const JOBS = positive("jobs", opts.jobs);
const BUILD_JOBS = positive("build-jobs", opts["build-jobs"]);
const WORK = opts.dir;
const PROJECT = join(WORK, "project");
const SUBAGENT = "bench";
const RECIPE = `bench-${opts.recipe}`;
// Tags of this run only: env ids carry a digest of the repository's path under WORK.
const NONCE = `${process.pid}-${Date.now().toString(36)}`;
const ANCHOR_REPO = "sabuild-bench-anchor";
const OWN_TAG = new RegExp(`^(sabuild/env-benchenv-|sabuild/${RECIPE}:|${ANCHOR_REPO}:)`);

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Bench Author",
  GIT_AUTHOR_EMAIL: "bench@example.invalid",
  GIT_COMMITTER_NAME: "Bench Author",
  GIT_COMMITTER_EMAIL: "bench@example.invalid",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};
// The classic builder, as sabuild's own builds get through the engine API (dockerode).
const DOCKER_ENV = { ...process.env, DOCKER_BUILDKIT: "0" };

const pad = (i) => String(i).padStart(2, "0");
const git = (cwd, ...args) => timed("git", args, { cwd, env: GIT_ENV }).stdout.trim();
const docker = (...args) => timed("docker", args, { env: DOCKER_ENV }).stdout;

/** A private copy of the compiled CLI and the shipped recipes: others rebuild dist/ meanwhile. */
function snapshotCli() {
  const root = join(WORK, "sabuild-cli");
  cpSync(requireDist(), join(root, "dist"), { recursive: true, preserveTimestamps: true });
  cpSync(join(REPO, "recipes"), join(root, "recipes"), { recursive: true });
  copyFileSync(join(REPO, "package.json"), join(root, "package.json"));
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
  return join(root, "dist/cli/main.js");
}

/** A tiny Python package with a test; its factor and names differ per repository. */
function makeRepo(i) {
  const dir = join(WORK, "repos", `benchenv-${pad(i)}`);
  const pkg = `pkg_${pad(i)}`;
  mkdirSync(join(dir, pkg), { recursive: true });
  mkdirSync(join(dir, "tests"), { recursive: true });
  writeFileSync(join(dir, "README.md"), `# ${pkg}\n\nRepository ${i} of the environments benchmark: \`scale(x)\` multiplies by ${i + 2}.\n`);
  writeFileSync(join(dir, pkg, "__init__.py"), versioned(i, 0));
  writeFileSync(join(dir, "tests", `test_${pkg}.py`), `from ${pkg} import FACTOR, scale\n\n\ndef test_scale():\n    assert scale(3) == 3 * FACTOR\n\n\ndef test_factor():\n    assert FACTOR == ${i + 2}\n`);
  git(dir, "init", "--quiet", "--initial-branch=main");
  git(dir, "add", ".");
  git(dir, "commit", "--quiet", "-m", `${pkg} 1.0.0`);
  return { dir, pkg, commit: git(dir, "rev-parse", "HEAD") };
}

function versioned(i, patch) {
  return `"""Package ${i} of the environments benchmark."""\n\nVERSION = "1.0.${patch}"\nFACTOR = ${i + 2}\n\n\ndef scale(x):\n    return x * FACTOR\n`;
}

/** One or two tasks per repository, each bound to the repository at its commit on the recipe. */
function writeTasks(repos) {
  const lines = repos.flatMap((r, i) => {
    const env = { repo: r.dir, commit: r.commit, recipe: RECIPE };
    const tasks = [{ id: `${r.pkg}-all`, prompt: `Run the test suite of ${r.pkg} and report the failures.`, env }];
    if (i % 2 === 0) tasks.push({ id: `${r.pkg}-one`, prompt: `Run only test_scale of ${r.pkg}.`, env });
    return tasks;
  });
  writeFileSync(join(PROJECT, "tasks/bench.jsonl"), `${lines.map((t) => JSON.stringify(t)).join("\n")}\n`);
  return lines.length;
}

/**
 * The project: one subagent built up to its sandbox stage, the shipped recipe copied in under its
 * own name (its tags are this benchmark's to remove), with a label unique to this run right after
 * FROM unless --reuse-base-layers: every later layer misses the engine's cache, so the cold build
 * really builds the base (apt and all).
 */
function makeProject(repos) {
  const recipeDir = join(PROJECT, "recipes", RECIPE);
  cpSync(join(REPO, "recipes", opts.recipe), recipeDir, { recursive: true });
  if (!opts["reuse-base-layers"]) {
    const dockerfile = join(recipeDir, "Dockerfile");
    const text = readFileSync(dockerfile, "utf8");
    if (!/^FROM .*$/m.test(text)) throw new Error(`${dockerfile} has no FROM line`);
    writeFileSync(dockerfile, text.replace(/^(FROM .*)$/m, `$1\nLABEL sabuild.bench.nonce="${NONCE}"`));
  }
  mkdirSync(join(PROJECT, "tasks"), { recursive: true });
  const count = writeTasks(repos);
  writeFileSync(
    join(PROJECT, "subagents.yaml"),
    [
      "version: 1",
      "subagents:",
      `  ${SUBAGENT}:`,
      "    until: sandbox",
      "    source:",
      "      inline:",
      "        description: Runs a repository's tests",
      "        prompt: You run tests and report what fails.",
      `    sandbox: {recipe: ${RECIPE}, build_jobs: ${BUILD_JOBS}}`,
      // count = the tasks written, so no teacher is asked for more.
      `    tasks: {from: tasks/bench.jsonl, count: ${count}, holdout: 0}`,
      "",
    ].join("\n"),
  );
  return count;
}

/** `sabuild build bench:sandbox --json`, timed from spawn to exit, with the sandbox stage's end event. */
function buildSandbox(cli, what) {
  const r = timed(process.execPath, [cli, "build", "-j", String(JOBS), "--json", `${SUBAGENT}:sandbox`], { cwd: PROJECT, allowFailure: true });
  let doc;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`${what}: build --json printed no JSON (exit ${r.status})\n${r.stderr}${r.stdout.slice(-4000)}`);
  }
  const stage = doc.stages.find((s) => s.id === `${SUBAGENT}:sandbox`);
  if (r.status !== 0 || !stage) throw new Error(`${what}: build exited ${r.status}\n${JSON.stringify(doc.stages, null, 1).slice(-6000)}\n${r.stderr.slice(-3000)}`);
  return { ms: r.ms, stage, stages: doc.stages };
}

function expectItems(what, stage, run, reused) {
  const items = stage.items ?? { run: 0, reused: 0 };
  if (items.run !== run || items.reused !== reused || items.failed || items.fetched) {
    throw new Error(`${what}: expected ${run} item(s) run and ${reused} reused, the sandbox stage reported ${JSON.stringify(items)} (status ${stage.status})`);
  }
}

/** Every tag in the engine. */
function tags() {
  return new Set(docker("images", "--format", "{{.Repository}}:{{.Tag}}").split("\n").filter((t) => t && !t.includes("<none>")));
}

function ownTags(before) {
  return [...tags()].filter((t) => OWN_TAG.test(t) && !before.has(t)).sort();
}

const envTags = (before) => ownTags(before).filter((t) => t.startsWith("sabuild/env-"));

function removeImages(list) {
  if (!list.length) return;
  const r = timed("docker", ["rmi", ...list], { env: DOCKER_ENV, allowFailure: true });
  if (r.status !== 0) log(`warning: docker rmi: ${r.stderr.trim()}`);
}

function wipeStore() {
  rmSync(join(PROJECT, "cache"), { recursive: true, force: true });
  rmSync(join(PROJECT, "sabuild.lock"), { force: true });
}

function duBytes(path) {
  const r = spawnSync("du", ["-sb", path], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.split("\t")[0]) : 0;
}

/** The layers of an image, newest first: [id, size in bytes]; ids of locally built steps. */
function layers(image) {
  return docker("history", "--no-trunc", "--human=false", "--format", "{{.ID}}\t{{.Size}}", image)
    .trim()
    .split("\n")
    .map((l, i) => {
      const [id, size] = l.split("\t");
      // A pulled image's history has no ids: such a layer is counted once per image.
      return [id === "<missing>" ? `${image}#${i}` : id, Number(size)];
    });
}

/**
 * What the images take: the sum of their sizes as `docker image inspect` reports them (shared
 * layers counted in every image) and the bytes of the distinct layers, counted once.
 */
function diskFigures(base, envs) {
  const sizes = (list) => docker("image", "inspect", "--format", "{{.Size}}", ...list).trim().split("\n").map(Number);
  const [baseSize] = sizes([base]);
  const envSizes = sizes(envs);
  const baseLayers = new Map(layers(base));
  const own = new Map();
  for (const image of envs) for (const [id, size] of layers(image)) if (!baseLayers.has(id)) own.set(id, size);
  const ownBytes = [...own.values()].reduce((a, b) => a + b, 0);
  const baseBytes = [...baseLayers.values()].reduce((a, b) => a + b, 0);
  return {
    images: envs.length,
    baseImageBytes: baseSize,
    sumInspectSizeEnvs: envSizes.reduce((a, b) => a + b, 0),
    uniqueBytesWithBase: baseBytes + ownBytes,
    uniqueBytesEnvLayersOnly: ownBytes,
    envLayers: own.size,
    perEnvUniqueBytes: round(ownBytes / envs.length, 0),
  };
}

/**
 * How many environment images were being built at once, from the images themselves: the layers
 * an image has alone (from its COPY of the repository on) were committed while it was built. The
 * steps before the COPY are the same in every environment and come from the layer cache, and
 * the context upload is not seen: each span starts a little late, so the peak is not overstated.
 */
function buildOverlap(envs) {
  const histories = envs.map((image) => layers(image).map(([id]) => id));
  const seen = new Map();
  for (const ids of histories) for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const spans = histories.map((ids) => {
    const alone = ids.filter((id) => seen.get(id) === 1 && !id.includes("#"));
    const created = docker("image", "inspect", "--format", "{{.Created}}", ...alone).trim().split("\n").map((t) => Date.parse(t));
    return [Math.min(...created), Math.max(...created)];
  });
  const points = spans.flatMap(([a, b]) => [[a, 1], [b, -1]]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of points) peak = Math.max(peak, (now += d));
  const busy = spans.reduce((s, [a, b]) => s + (b - a), 0);
  const wall = Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0]));
  return { peak, mean: round(busy / wall, 2), perImageMs: summary(spans.map(([a, b]) => b - a)) };
}

/** The Dockerfile sabuild writes for a repository environment (src/sandbox/env-image.ts, repoDockerfile). */
function handDockerfile(commit) {
  return [
    "ARG BASE_IMAGE",
    "FROM ${BASE_IMAGE}",
    "USER root",
    "RUN rm -rf /workspace && mkdir -p /workspace && chown agent:agent /workspace",
    "COPY --chown=agent:agent repo/ /workspace/",
    "USER agent",
    "WORKDIR /workspace",
    `RUN if command -v git >/dev/null; then git init -q -b main . && git -c user.name=sabuild -c user.email=sabuild@localhost add -A && GIT_AUTHOR_DATE="2024-01-01T00:00:00 +0000" GIT_COMMITTER_DATE="2024-01-01T00:00:00 +0000" git -c user.name=sabuild -c user.email=sabuild@localhost commit -q --allow-empty -m "at ${commit.slice(0, 12)}"; fi`,
    "",
  ].join("\n");
}

/** The build context of a hand build: the tree at the commit (git archive) and the Dockerfile. */
function handContext(repo, i) {
  const dir = join(WORK, "hand", pad(i));
  mkdirSync(join(dir, "repo"), { recursive: true });
  timed("bash", ["-c", `git -C "${repo.dir}" archive ${repo.commit} | tar -x -C "${dir}/repo"`]);
  writeFileSync(join(dir, "Dockerfile"), handDockerfile(repo.commit));
  return dir;
}

/**
 * A hand build of one context, the engine's layer cache allowed as sabuild's builds have it (the
 * steps before the COPY are the same in every environment): a marker file unique to the build
 * keeps the COPY, and all after it, from coming out of the cache. As many labels as sabuild sets
 * (under other names, so no sabuild command takes these images for its own): the engine commits
 * each label of a build as a step of its own.
 */
function handArgs(base, dir, n, { labelled = true } = {}) {
  writeFileSync(join(dir, "repo", ".bench-hand"), `${NONCE}-${n}\n`);
  const names = labelled ? ["sabuild-bench.managed=1", `sabuild-bench.recipe=hand-${n}`, `sabuild-bench.context=${NONCE}-${n}`] : [];
  const labels = names.flatMap((l) => ["--label", l]);
  return ["build", "-q", "--build-arg", `BASE_IMAGE=${base}`, ...labels, "-t", `${ANCHOR_REPO}:${NONCE}-${n}`, dir];
}

/** A hand build of every context, `jobs` at a time; wall ms of the whole batch. */
async function handBatch(base, dirs, jobs) {
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < dirs.length) {
      const i = next++;
      await new Promise((resolve, reject) => {
        const child = spawn("docker", handArgs(base, dirs[i], 100 + i), { env: DOCKER_ENV, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d) => (err += d));
        child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`docker build of ${dirs[i]} exited ${code}\n${err}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function measure(cli, repos, before) {
  const figures = { runs: {} };
  log(`cold build, base included (${opts["reuse-base-layers"] ? "base layers from the engine's cache" : "base built from scratch: apt downloads"})`);
  const coldBase = buildSandbox(cli, "cold build with the base");
  expectItems("cold build with the base", coldBase.stage, ENVS, 0);
  const base = ownTags(before).find((t) => t.startsWith(`sabuild/${RECIPE}:`));
  if (!base) throw new Error(`no image sabuild/${RECIPE}:* after the cold build`);
  figures.coldWithBase = { ms: round(coldBase.ms), stageMs: coldBase.stage.durationMs };
  log(`  ${round(coldBase.ms / 1000, 2)} s; base image ${base}`);

  // Base present, no environment image, an empty store (its repository cache too).
  removeImages(envTags(before));
  wipeStore();
  log("cold build, base present");
  const cold = buildSandbox(cli, "cold build");
  expectItems("cold build", cold.stage, ENVS, 0);
  const envs = envTags(before);
  if (envs.length !== ENVS) throw new Error(`cold build: expected ${ENVS} environment images, the engine has ${envs.length}: ${envs.join(" ")}`);
  figures.cold = { ms: round(cold.ms), stageMs: cold.stage.durationMs, perEnvMs: round(cold.ms / ENVS), overlap: buildOverlap(envs) };
  log(`  ${round(cold.ms / 1000, 2)} s; builds at once: peak ${figures.cold.overlap.peak}, mean ${figures.cold.overlap.mean}`);
  figures.disk = { ...diskFigures(base, envs), repoCacheBytes: duBytes(join(PROJECT, "cache/repos")), storeBytes: duBytes(join(PROJECT, "cache")), sourceReposBytes: duBytes(join(WORK, "repos")) };

  const noop = [];
  for (let r = 1; r <= RUNS; r++) {
    const b = buildSandbox(cli, `no-op ${r}`);
    const busy = b.stages.filter((s) => s.status !== "up-to-date");
    if (busy.length) throw new Error(`no-op ${r}: stages not up to date: ${busy.map((s) => `${s.id} ${s.status}`).join(", ")}`);
    noop.push(b.ms);
  }
  figures.runs.noop = summary(noop);
  log(`no-op: median ${figures.runs.noop.median} ms`);

  // One repository gets a new commit and its tasks follow it: exactly its image is built.
  const changed = [];
  const changedStage = [];
  for (let r = 1; r <= RUNS; r++) {
    const i = (r - 1) % ENVS;
    const repo = repos[i];
    writeFileSync(join(repo.dir, repo.pkg, "__init__.py"), versioned(i, r));
    git(repo.dir, "commit", "--quiet", "-am", `${repo.pkg} 1.0.${r}`);
    repo.commit = git(repo.dir, "rev-parse", "HEAD");
    writeTasks(repos);
    const imagesBefore = envTags(before).length;
    const b = buildSandbox(cli, `commit changed ${r}`);
    expectItems(`commit changed ${r}`, b.stage, 1, ENVS - 1);
    const added = envTags(before).length - imagesBefore;
    if (added !== 1) throw new Error(`commit changed ${r}: expected 1 new environment image, the engine has ${added} more`);
    changed.push(b.ms);
    changedStage.push(b.stage.durationMs);
    log(`commit changed in ${repo.pkg}: ${round(b.ms)} ms (1 run, ${ENVS - 1} reused)`);
  }
  figures.runs.oneCommitChanged = summary(changed);
  figures.runs.oneCommitChangedStage = summary(changedStage);

  // The floor: the same Dockerfile and context by hand, one build at a time, then all at once.
  const dirs = repos.map((repo, i) => handContext(repo, i));
  const single = [];
  for (let r = 0; r < RUNS; r++) single.push(timed("docker", handArgs(base, dirs[r % ENVS], r), { env: DOCKER_ENV }).ms);
  figures.runs.handBuild = summary(single);
  const bare = [];
  for (let r = 0; r < RUNS; r++) bare.push(timed("docker", handArgs(base, dirs[r % ENVS], 50 + r, { labelled: false }), { env: DOCKER_ENV }).ms);
  figures.runs.handBuildNoLabels = summary(bare);
  figures.handBatchMs = round(await handBatch(base, dirs, BUILD_JOBS));
  log(`docker build by hand: median ${figures.runs.handBuild.median} ms; ${ENVS} of them ${BUILD_JOBS} at a time: ${round(figures.handBatchMs / 1000, 2)} s`);
  figures.base = base;
  return figures;
}

const mib = (b) => `${round(b / 1024 ** 2, 1)} MiB`;
const sec = (ms) => round(ms / 1000, 2);

function report(f) {
  const d = f.disk;
  const rows = [
    ["what", "wall s", "per env s", "vs hand"],
    [`cold, base built too (${f.baseFrom})`, sec(f.coldWithBase.ms), sec(f.coldWithBase.ms / ENVS), round(f.coldWithBase.ms / f.handBatchMs, 2)],
    ["cold, base present", sec(f.cold.ms), sec(f.cold.perEnvMs), round(f.cold.ms / f.handBatchMs, 2)],
    [`no-op (median of ${RUNS})`, sec(f.runs.noop.median), "", ""],
    [`one commit changed (median of ${RUNS})`, sec(f.runs.oneCommitChanged.median), "", round(f.runs.oneCommitChanged.median / f.runs.handBuild.median, 2)],
    [`docker build by hand, ${ENVS} at ${BUILD_JOBS} at a time`, sec(f.handBatchMs), sec(f.handBatchMs / ENVS), 1],
    [`docker build by hand, one (median of ${RUNS})`, sec(f.runs.handBuild.median), "", 1],
    [`same without the 3 labels (median of ${RUNS})`, sec(f.runs.handBuildNoLabels.median), "", round(f.runs.handBuildNoLabels.median / f.runs.handBuild.median, 2)],
  ];
  return [
    `${ENVS} environments (repo@commit on ${RECIPE}, ${f.tasks} tasks), -j ${JOBS}, build_jobs ${BUILD_JOBS}; node ${process.version}, ${cpus().length} CPUs, load average before: ${f.loadBefore}, after: ${f.loadAfter}`,
    "",
    table(rows),
    "",
    `builds at once in the cold build: peak ${f.cold.overlap.peak}, mean ${f.cold.overlap.mean}; one image ${sec(f.cold.overlap.perImageMs.median)} s median (first to last own layer)`,
    `sandbox stage in-process: cold ${sec(f.cold.stageMs)} s, one commit changed ${sec(f.runs.oneCommitChangedStage.median)} s (median)`,
    `disk: base image ${mib(d.baseImageBytes)}; ${d.images} environment images: sum of docker image inspect Size ${mib(d.sumInspectSizeEnvs)}, distinct layers ${mib(d.uniqueBytesWithBase)} (base included), ${mib(d.uniqueBytesEnvLayersOnly)} above the base (${d.envLayers} layers, ${round(d.perEnvUniqueBytes / 1024, 1)} KiB per environment)`,
    `host: repository cache (<store>/repos) ${mib(d.repoCacheBytes)}, whole store ${mib(d.storeBytes)}, the source repositories ${mib(d.sourceReposBytes)}`,
  ].join("\n");
}

async function main() {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const before = tags();
  try {
    const loadBefore = loadavg().map((x) => round(x, 2)).join(" ");
    const cli = snapshotCli();
    const repos = Array.from({ length: ENVS }, (_, i) => makeRepo(i));
    const tasks = makeProject(repos);
    const figures = { envs: ENVS, tasks, jobs: JOBS, buildJobs: BUILD_JOBS, recipe: RECIPE, baseFrom: opts["reuse-base-layers"] ? "layer cache" : "scratch", node: process.version, cpus: cpus().length, loadBefore, ...(await measure(cli, repos, before)) };
    figures.loadAfter = loadavg().map((x) => round(x, 2)).join(" ");
    if (opts.json) console.log(JSON.stringify(figures, null, 2));
    else console.log(report(figures));
  } finally {
    if (!opts.keep) {
      removeImages(ownTags(before));
      rmSync(WORK, { recursive: true, force: true });
    }
  }
}

await main();
