import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, REPO, tempDir, type CliResult } from "../helpers.js";
import { engineProject, runLog } from "../engine-project.js";

/**
 * The executor contract (src/engine/executor.ts), after hono's runTest for every router: the
 * same project built through each executor gives the same results; a failed item fails only
 * itself and is the only one run again; Ctrl-C leaves nothing running; `sabuild exec` refuses a
 * key its checkout does not compute; and a remote executor without its remote cache fails
 * loudly instead of building nothing. The project is the engine tests' (import, tasks, a map
 * traces stage); `tasks` and `traces` run on the executor under test.
 */

export interface ExecutorUnderTest {
  /** `executors:` lines for the project (indented two spaces); empty for local. `env` is what the jobs must see. */
  executorsYaml(env: Record<string, string>): string[];
  /** Executor names for the plain stage (tasks) and the map stage (traces); "local" for the local executor. */
  plain: string;
  map: string;
  /** An executor that asks for one GPU, when the engine offers them. */
  gpu?: string;
  /** The `executors:` line of an executor named `shipped` with ship: bundle, items_per_task: 2 and this `sabuild` command. */
  shipped?(env: Record<string, string>, sabuild: string): string;
  /** The remote cache the jobs reach (a URL prefix, per test). */
  cacheUrl(prefix: string): string;
  /** A URL where no remote cache answers. */
  deadCacheUrl: string;
  cli(cwd: string, args: string[], env: Record<string, string>): Promise<CliResult>;
  spawn(cwd: string, args: string[], env: Record<string, string>): ChildProcess & { output(): string };
  /** How the build names a failed task (its job id, where its log is); unset for local. */
  failedTask?: RegExp;
  /** Jobs of this executor still queued or running (0 for local). */
  jobsLeft(): Promise<number>;
}

type Build = { ok: boolean; stages: { id: string; status: string }[] };

/** Runs a command with a directory covered by an empty tmpfs (in its own mount namespace). */
const HIDE_DIR = join(REPO, "tests/support/hide-dir.sh");

export function describeExecutorContract(name: string, setup: () => Promise<ExecutorUnderTest & { stop(): Promise<void> }>, options: { gpus: boolean; bundle?: boolean } = { gpus: true }): void {
  describe(`executor contract: ${name}`, () => {
    let x: ExecutorUnderTest & { stop(): Promise<void> };
    let prefixes = 0;
    // Each test file's nginx is its own; prefixes keep the tests' caches apart within it.
    beforeAll(async () => {
      x = await setup();
    }, 240_000);
    afterAll(async () => {
      await x?.stop();
    }, 60_000);

    /** The engine project with tasks and traces on the executor under test. */
    const project = (tasks: number, env: Record<string, string> = {}, where: { plain?: string; map?: string } = {}): string => {
      const dir = engineProject({ tasks });
      configure(dir, env, where);
      return dir;
    };
    const configure = (dir: string, env: Record<string, string>, where: { plain?: string; map?: string } = {}, extra: string[] = []): void => {
      const file = join(dir, "subagents.yaml");
      const text = readFileSync(file, "utf8").replace(/^executors:\n(  .*\n)*/m, "");
      const lines = [...x.executorsYaml(env), ...extra];
      const withExecutors = lines.length ? text.replace("version: 1\n", `version: 1\nexecutors:\n${lines.join("\n")}\n`) : text;
      const placed = withExecutors.replace(/    executor: .*\n/, "").replace("    until: traces\n", `    until: traces\n    executor: { tasks: ${where.plain ?? x.plain}, traces: ${where.map ?? x.map} }\n`);
      writeFileSync(file, placed);
    };
    const build = async (dir: string, env: Record<string, string>, args: string[] = []): Promise<CliResult & { json?: Build }> => {
      const r = await x.cli(dir, ["build", "--json", ...args], env);
      try {
        return { ...r, json: JSON.parse(r.stdout) as Build };
      } catch {
        return r;
      }
    };
    const statuses = (b: Build | undefined): Record<string, string> => Object.fromEntries((b?.stages ?? []).filter((s) => s.status !== "unavailable").map((s) => [s.id, s.status]));

    it("runs a plain stage and every map item; a second build does nothing", async () => {
      const cache = { SABUILD_REMOTE_CACHE: x.cacheUrl(`c${++prefixes}`) };
      const log = "runs.log";
      const dir = project(5, { RUN_LOG: log });
      const plan = await x.cli(dir, ["plan"], cache);
      expect(plan.stdout).toMatch(x.map === "local" ? /alpha:traces\s+will-run:/ : new RegExp(`alpha:traces\\s+will-run on ${x.map}:`));
      const first = await build(dir, { ...cache, RUN_LOG: log });
      expect(first.code, first.stderr).toBe(0);
      expect(statuses(first.json)).toMatchObject({ "alpha:tasks": "built", "alpha:traces": "built" });
      expect(runLog(join(dir, log)).sort()).toEqual(["t1", "t2", "t3", "t4", "t5"]);
      const second = await build(dir, { ...cache, RUN_LOG: log });
      expect(Object.values(statuses(second.json))).toEqual(Object.keys(statuses(second.json)).map(() => "up-to-date"));
      expect(statuses(second.json)).toMatchObject({ "alpha:tasks": "up-to-date", "alpha:traces": "up-to-date" });
      expect(runLog(join(dir, log))).toHaveLength(5);
    }, 180_000);

    it("fails only a failed item's task; the next build runs that item alone", async () => {
      const cache = { SABUILD_REMOTE_CACHE: x.cacheUrl(`c${++prefixes}`) };
      const log = "runs.log";
      const dir = project(4, { RUN_LOG: log, FAIL_ITEM: "t3" });
      const failed = await x.cli(dir, ["build"], { ...cache, RUN_LOG: log, FAIL_ITEM: "t3" });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/alpha:traces/);
      expect(failed.stderr).toMatch(/t3/);
      if (x.failedTask) expect(failed.stderr).toMatch(x.failedTask);
      expect(runLog(join(dir, log)).sort()).toEqual(["t1", "t2", "t4"]);
      configure(dir, { RUN_LOG: log });
      const again = await build(dir, { ...cache, RUN_LOG: log });
      expect(again.code, again.stderr).toBe(0);
      expect(runLog(join(dir, log)).sort()).toEqual(["t1", "t2", "t3", "t4"]);
    }, 180_000);

    it("reports an item the stage stops (a spent budget) as stopped with its why and hint, not as a failed task", async () => {
      const cache = { SABUILD_REMOTE_CACHE: x.cacheUrl(`c${++prefixes}`) };
      const log = "runs.log";
      const dir = project(4, { RUN_LOG: log, STOP_ITEM: "t2" });
      const stopped = await x.cli(dir, ["build"], { ...cache, RUN_LOG: log, STOP_ITEM: "t2" });
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toMatch(/alpha:traces.*budget reached: 3 of 4 items done and kept, 1 not run\. Raise the test budget and build again\./);
      expect(stopped.stderr).not.toMatch(/items failed|ended FAILED|failed \(exit/);
      expect(runLog(join(dir, log)).sort()).toEqual(["t1", "t3", "t4"]);
      // Nothing of the stopped item was kept: the next build runs it, and it alone.
      configure(dir, { RUN_LOG: log });
      const again = await build(dir, { ...cache, RUN_LOG: log });
      expect(again.code, again.stderr).toBe(0);
      expect(runLog(join(dir, log)).slice(3)).toEqual(["t2"]);
    }, 180_000);

    it("cancels its jobs on Ctrl-C and keeps nothing running", async () => {
      const cache = { SABUILD_REMOTE_CACHE: x.cacheUrl(`c${++prefixes}`) };
      const dir = project(3, { SLOW_MS: "60000" });
      const child = x.spawn(dir, ["build", "--verbose"], { ...cache, SLOW_MS: "60000" });
      const until = Date.now() + 60_000;
      while (!/traces/.test(child.output()) || ((await x.jobsLeft()) === 0 && x.map !== "local")) {
        if (Date.now() > until) throw new Error(`the traces stage never started:\n${child.output()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, 1000));
      child.kill("SIGINT");
      const code = await new Promise<number | null>((r) => child.once("exit", r));
      expect(code, child.output()).toBe(130);
      const left = Date.now() + 20_000;
      while ((await x.jobsLeft()) > 0 && Date.now() < left) await new Promise((r) => setTimeout(r, 250));
      expect(await x.jobsLeft()).toBe(0);
    }, 180_000);

    it("sabuild exec refuses a key its checkout does not compute", async () => {
      const cache = { SABUILD_REMOTE_CACHE: x.cacheUrl(`c${++prefixes}`) };
      const dir = project(2);
      const order = Buffer.from(JSON.stringify({ upstream: {} })).toString("base64");
      const r = await x.cli(dir, ["exec", "alpha:tasks", "--key", "0".repeat(64), "--order", order], cache);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/key mismatch for alpha:tasks: this checkout computes [0-9a-f]{64}, the build asked for 0{64}/);
    }, 60_000);

    it("with its remote cache down, fails the stages it should have run, saying why", async () => {
      const dir = project(2);
      const r = await x.cli(dir, ["build"], { SABUILD_REMOTE_CACHE: x.deadCacheUrl });
      if (x.plain === "local") {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/remote cache unavailable/);
      } else {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/alpha:tasks: .*needs a read-write remote cache, and it is unavailable/);
      }
    }, 60_000);

    it("without a read-write remote cache, a remote executor is a config problem at its line", async () => {
      if (x.plain === "local") return expect((await x.cli(project(1), ["plan"], {})).code).toBe(0);
      const dir = project(1);
      const r = await x.cli(dir, ["build"], {});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`subagents\\.yaml:3:\\d+: executors\\.${x.plain}: executor ${x.plain} needs a read-write remote cache`));
      expect(r.stderr).toMatch(/hint: add remote_cache/);
      // --executor local builds the same project here.
      expect((await x.cli(dir, ["build", "--executor", "local"], {})).code).toBe(0);
    }, 60_000);

    // Only remote engines ship bundles (the local executor has the checkout itself).
    if (options.bundle)
      it("ships the inputs as a bundle through the remote cache to jobs that cannot see the checkout", async () => {
        const cache = { SABUILD_REMOTE_CACHE: x.cacheUrl(`c${++prefixes}`) };
        const env = { RUN_LOG: join(tempDir("sabuild-runs-"), "runs.log") };
        const dir = engineProject({ tasks: 3 });
        // Each job sees the project directory as an empty tmpfs: all it has is what the bundle holds.
        const hidden = `unshare -m --propagation private ${HIDE_DIR} ${dir} ${process.execPath} ${CLI}`;
        configure(dir, env, { plain: "shipped", map: "shipped" }, [x.shipped!(env, hidden)]);
        const first = await x.cli(dir, ["build", "--verbose"], { ...cache, ...env });
        expect(first.code, first.stderr).toBe(0);
        // Each job ran in a scratch directory under /tmp (the tasks job's log always shows here;
        // the build may finish on the traces items' uploads before their tasks' logs are read).
        // That the builds succeeded at all with the checkout hidden is the point.
        expect(first.stderr).toMatch(/inputs [0-9a-f]{12} unpacked in \/tmp\/sabuild-inputs-\w+/);
        expect(runLog(env.RUN_LOG).sort()).toEqual(["t1", "t2", "t3"]);
        // The jobs computed the keys this build did: a second build has nothing to do.
        const second = await build(dir, { ...cache, ...env });
        expect(Object.values(statuses(second.json)).every((s) => s === "up-to-date"), second.stderr).toBe(true);
        expect(runLog(env.RUN_LOG)).toHaveLength(3);
      }, 180_000);

    // Only engines that offer GPUs are asked (the local machine has none to hand out): the test
    // is not registered for them, rather than skipped.
    if (options.gpus) it("gives a stage that asks for a GPU its device", async () => {
      const cache = { SABUILD_REMOTE_CACHE: x.cacheUrl(`c${++prefixes}`) };
      expect(x.gpu, "an engine that offers GPUs names its GPU executor").toBeDefined();
      const dir = project(1, {}, { plain: x.gpu! });
      const r = await x.cli(dir, ["build", "alpha:tasks", "--verbose"], cache);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/sabuild exec alpha:tasks on .*CUDA_VISIBLE_DEVICES=\d/);
    }, 120_000);
  });
}
