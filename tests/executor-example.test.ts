import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trace } from "../src/traces/types.js";
import { CLI, copyExample, REPO, sabuildAsync, type CliResult } from "./helpers.js";
import { startNginx, type Nginx } from "./nginx.js";
import { ensureDocker } from "./support/docker.js";
import { startRayHead, type RayHead } from "./support/ray-head.js";

/**
 * The bundled example's real traces stage (Docker sandboxes, the stand-in teacher) on the
 * executors, as issue 18's "done when" asks: changelog-writer (the quickest sandbox), cut at
 * traces, with three samples of its one train task: on Slurm an array of two tasks (two items,
 * then one: items_per_task: 2), on Ray one task per item. Each job runs `sabuild exec` in this checkout on this machine: it
 * reaches Docker and starts its own stand-in teacher, since the stand-in is served by the
 * process that runs the stage. The contract suite (tests/contracts/executor.ts) covers the
 * engine's side on a fixture project; this is the shipped pipeline on the real engines.
 */

const CLUSTER = join(REPO, "tests/support/slurm-cluster.sh");
/** Runs a command with a directory covered by an empty tmpfs (in its own mount namespace). */
const HIDE_DIR = join(REPO, "tests/support/hide-dir.sh");
const SAMPLES = 3;

type Cli = (cwd: string, args: string[], env: Record<string, string>) => Promise<CliResult>;
type Build = { ok: boolean; stages: { id: string; status: string }[] };

/** The example with changelog-writer's traces on `executor`, the one line under `executors:`. */
function exampleOn(executorLine: string, executor: string, dir = copyExample()): string {
  const file = join(dir, "subagents.yaml");
  const text = readFileSync(file, "utf8");
  const edited = text
    .replace("version: 1\n", `version: 1\nexecutors:\n${executorLine}\n`)
    .replace("  changelog-writer:\n", `  changelog-writer:\n    until: traces\n    executor: { traces: ${executor} }\n    traces: { samples_per_task: ${SAMPLES} }\n`);
  expect(edited).toContain(`executor: { traces: ${executor} }`);
  writeFileSync(file, edited);
  return dir;
}

async function json<T>(cli: Cli, dir: string, args: string[], env: Record<string, string>): Promise<T> {
  const r = await cli(dir, [...args, "--json"], env);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Every trace.json of the traces stage's output, by item id. */
async function traces(cli: Cli, dir: string, env: Record<string, string>): Promise<Record<string, Trace>> {
  const art = await json<{ files: { path: string; blob: string }[] }>(cli, dir, ["artifacts", "changelog-writer:traces"], env);
  const out: Record<string, Trace> = {};
  for (const f of art.files) {
    const m = /^items\/([^/]+)\/trace\.json$/.exec(f.path);
    if (m) out[m[1]!] = JSON.parse(readFileSync(f.blob, "utf8")) as Trace;
  }
  return out;
}

/**
 * Plan, build (traces on `executor`), check every item came back as a real rollout, then a
 * second build on this machine: nothing to do. Returns the first build's output.
 */
async function buildOn(cli: Cli, dir: string, executor: string, env: Record<string, string>): Promise<string> {
  const plan = await cli(dir, ["plan", "changelog-writer"], env);
  expect(plan.code, plan.stderr).toBe(0);
  expect(plan.stdout).toMatch(new RegExp(`changelog-writer:traces\\s+will-run on ${executor}[: ]`));
  expect(plan.stdout).toMatch(/changelog-writer:sandbox\s+will-run:/);

  const first = await cli(dir, ["build", "changelog-writer", "--verbose"], env);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stderr).toMatch(/✓ changelog-writer:traces built in .* \(3 items run, 0 reused\)/);

  const got = await traces(cli, dir, env);
  const ids = Object.keys(got).sort();
  expect(ids).toHaveLength(SAMPLES);
  const task = got[ids[0]!]!.task.id;
  expect(ids).toEqual([0, 1, 2].map((s) => `${task}.s${s}`));
  for (const t of Object.values(got)) {
    // A real rollout: the stand-in teacher's tool calls ran in the shell recipe's container.
    expect(t).toMatchObject({ subagent: "changelog-writer", status: "completed", contract: { ok: true }, tool_errors: 0 });
    expect(t.model).toEqual({ name: "scripted-standin", base_url: "standin:example/teacher/policy.mjs", role: "teacher" });
    expect(t.sandbox.recipe).toBe("shell");
    expect(t.tool_calls).toBeGreaterThanOrEqual(1);
    expect(t.final_answer).toMatch(/^### /m);
  }

  // The jobs uploaded what this build computed the keys of: built here, nothing is left to do.
  const again = await json<Build>(cli, dir, ["build", "changelog-writer", "--executor", "local"], env);
  expect(again.ok).toBe(true);
  expect(Object.fromEntries(again.stages.filter((s) => s.status !== "unavailable").map((s) => [s.id, s.status]))).toEqual({
    "changelog-writer:import": "up-to-date",
    "changelog-writer:tasks": "up-to-date",
    "changelog-writer:sandbox": "up-to-date",
    "changelog-writer:traces": "up-to-date",
  });
  expect(await traces(cli, dir, env)).toEqual(got);
  return first.stderr;
}

beforeAll(async () => {
  await ensureDocker();
}, 600_000);

describe("the example's traces as a Slurm array", () => {
  let nginx: Nginx;
  let started = false;
  beforeAll(async () => {
    const up = spawnSync(CLUSTER, ["up"], { encoding: "utf8" });
    if (up.status !== 0) throw new Error(`no Slurm cluster for the executor tests: ${up.stderr.trim()}`);
    started = up.stdout.trim() === "started";
    nginx = await startNginx();
  }, 120_000);
  afterAll(async () => {
    await nginx?.stop();
    if (started) spawnSync(CLUSTER, ["down"]);
  });

  it("runs each slice of the rollouts in an array task with its own stand-in teacher; a second local build does nothing", async () => {
    const dir = exampleOn("  slurm: { type: slurm, partition: debug, time: '10:00', items_per_task: 2, poll_s: 0.5 }", "slurm");
    const out = await buildOn(sabuildAsync, dir, "slurm", { SABUILD_REMOTE_CACHE: `${nginx.url}/example-slurm` });
    const [, job, logs] = /slurm: submitted Slurm job (\d+) \(array of 2\); logs in (\S+)/.exec(out) ?? [];
    expect(job, out).toBeDefined();
    // Each task's whole log: its slice, and the stand-in teacher the job started on its own loopback port.
    const sizes = [0, 1].map((i) => {
      const log = readFileSync(join(logs!, `${job}_${i}.out`), "utf8");
      expect(log).toMatch(/note: the teacher is a scripted stand-in \(example\/teacher\/policy\.mjs on http:\/\/127\.0\.0\.1:\d+\/v1\)/);
      return Number(/sabuild exec changelog-writer:traces on \S+ \((\d+) items\)/.exec(log)?.[1]);
    });
    expect(sizes).toEqual([2, 1]);
  }, 600_000);

  it("runs them from a bundle of the inputs when the jobs cannot see the checkout (the skill's files come with import's output)", async () => {
    // Each job sees the project directory as an empty tmpfs: all it has is what the bundle and the remote cache hold.
    const dir = copyExample();
    const hidden = `unshare -m --propagation private ${HIDE_DIR} ${dir} ${process.execPath} ${CLI}`;
    const configured = exampleOn(`  shipped: { type: slurm, ship: bundle, items_per_task: 2, poll_s: 0.5, sabuild: '${hidden}' }`, "shipped", dir);
    const out = await buildOn(sabuildAsync, configured, "shipped", { SABUILD_REMOTE_CACHE: `${nginx.url}/example-bundle` });
    const [, job, logs] = /shipped: submitted Slurm job (\d+) \(array of 2\); logs in (\S+)/.exec(out) ?? [];
    expect(job, out).toBeDefined();
    for (const i of [0, 1]) expect(readFileSync(join(logs!, `${job}_${i}.out`), "utf8")).toMatch(/inputs [0-9a-f]{12} unpacked in \/tmp\/sabuild-inputs-\w+/);
  }, 600_000);
});

describe("the example's traces as Ray tasks", () => {
  let head: RayHead;
  beforeAll(async () => {
    head = await startRayHead({ cpus: 2, gpus: 0 });
  }, 240_000);
  afterAll(async () => {
    await head?.stop();
  }, 60_000);

  it("runs each rollout in a Ray task with its own stand-in teacher; a second local build does nothing", async () => {
    // One item per task: the build reads each task's end (and its output) before the item's
    // result; with several, it takes the results as they are uploaded and may be done first.
    const dir = exampleOn(`  ray: { type: ray, address: '${head.address}', python: ${head.python}, num_cpus: 1, poll_s: 0.5 }`, "ray");
    const out = await buildOn(head.cli, dir, "ray", { SABUILD_REMOTE_CACHE: head.cacheUrl("example-ray") });
    expect(out).toMatch(/ray: submitted 3 Ray task\(s\) to 127\.0\.0\.1:6379/);
    // Each task's output comes back into the build's: its item, and the stand-in its own process started.
    for (const i of [0, 1, 2]) {
      const lines = out.split("\n").filter((l) => l.includes(`[ray ${i}] `)).join("\n");
      expect(lines, out).toMatch(/sabuild exec changelog-writer:traces on \S+ \(1 items\)/);
      expect(lines, out).toMatch(/note: the teacher is a scripted stand-in \(example\/teacher\/policy\.mjs on http:\/\/127\.0\.0\.1:\d+\/v1\)/);
      expect(lines, out).toMatch(/\[t-[0-9a-f]+\.s\d\] built and uploaded/);
    }
  }, 600_000);
});
