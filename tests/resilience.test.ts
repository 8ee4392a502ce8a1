import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exited, sabuild, sabuildJson, spawnSabuild, waitFor } from "./helpers.js";
import { engineProject, runLog } from "./engine-project.js";

type Stages = { stages: { id: string; status: string }[] };
const statusOf = (r: Stages, id: string) => r.stages.find((s) => s.id === id)?.status;

describe("interrupted builds", () => {
  it("resumes after kill -9 with the finished items kept and the store consistent", async () => {
    const dir = engineProject({ tasks: 12 });
    const log = join(dir, "runs.log");
    const child = spawnSabuild(dir, ["build", "-j", "1"], { RUN_LOG: log, SLOW_MS: "150" });
    await waitFor(() => runLog(log).length >= 4, 30_000, "4 items to finish");
    child.kill("SIGKILL");
    await exited(child);
    const finishedBefore = runLog(log).length;
    expect(finishedBefore).toBeLessThan(12);
    expect(existsSync(join(dir, "cache/lock"))).toBe(true);

    const verify = sabuild(dir, ["cache", "verify", "--json"]);
    expect(verify.stderr).toMatch(/recovered a stale store lock left by pid \d+/);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, corrupt: [] });
    const resumed = sabuild(dir, ["build", "-j", "1"], { RUN_LOG: log });
    expect(resumed.code).toBe(0);
    const reran = runLog(log).slice(finishedBefore);
    // Everything that finished before the kill is reused; at most the one in flight reran.
    expect(reran.length).toBeLessThanOrEqual(12 - finishedBefore + 1);
    expect(new Set(runLog(log))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => `t${i + 1}`)));
    expect(readdirSync(join(dir, "cache/tmp")).length).toBe(0);
  });

  it("stops cleanly on SIGINT, keeps finished items and exits 130", async () => {
    const dir = engineProject({ tasks: 10 });
    const log = join(dir, "runs.log");
    const child = spawnSabuild(dir, ["build", "-j", "1"], { RUN_LOG: log, SLOW_MS: "150" });
    await waitFor(() => runLog(log).length >= 3, 30_000, "3 items to finish");
    child.kill("SIGINT");
    expect(await exited(child)).toBe(130);
    expect(child.output()).toContain("interrupted: stopping; finished work is kept");
    expect(existsSync(join(dir, "cache/lock"))).toBe(false);
    const finished = runLog(log).length;
    const resumed = sabuild(dir, ["build"], { RUN_LOG: log });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`${10 - finished} items run, ${finished} reused`);
  });
});

describe("store integrity", () => {
  it("detects a corrupted blob, removes it and rebuilds what needed it", () => {
    const dir = engineProject({ tasks: 3 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "alpha:tasks"]);
    const blob = art.files.find((f) => f.path === "tasks.jsonl")!.blob;
    writeFileSync(blob, "corrupted\n");
    const verify = sabuild(dir, ["cache", "verify"]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`corrupt blob removed: ${blob.split("/").pop()}`);
    expect(verify.stdout).toContain("incomplete result (will rebuild): alpha:tasks");
    const plan = sabuildJson<{ stages: { id: string; status: string; reasons: { type: string }[] }[] }>(dir, ["plan"]);
    expect(plan.stages.find((s) => s.id === "alpha:tasks")).toMatchObject({ status: "will-run", reasons: [{ type: "missing-output" }] });
    const build = sabuildJson<Stages>(dir, ["build"]);
    expect(statusOf(build, "alpha:tasks")).toBe("built");
    expect(statusOf(build, "alpha:traces")).toBe("up-to-date");
    expect(sabuild(dir, ["cache", "verify"]).code).toBe(0);
  });

  it("serialises concurrent builds on one project without corrupting the store", async () => {
    const dir = engineProject({ tasks: 6 });
    const log = join(dir, "runs.log");
    const a = spawnSabuild(dir, ["build", "-j", "2"], { RUN_LOG: log, SLOW_MS: "400" });
    const b = spawnSabuild(dir, ["build", "-j", "2"], { RUN_LOG: log, SLOW_MS: "400" });
    const [ca, cb] = await Promise.all([exited(a), exited(b)]);
    expect([ca, cb]).toEqual([0, 0]);
    expect(a.output() + b.output()).toContain("waiting for another sabuild");
    // The second build found everything done by the first.
    expect(runLog(log).sort()).toEqual(["t1", "t2", "t3", "t4", "t5", "t6"]);
    expect(sabuildJson<{ ok: boolean }>(dir, ["cache", "verify"]).ok).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(join(dir, "sabuild.lock"), "utf8")).stages)).toEqual(["alpha:import", "alpha:tasks", "alpha:traces"]);
  });
});

describe("--locked", () => {
  it("fails on drift from sabuild.lock and passes when nothing drifted", () => {
    const dir = engineProject();
    expect(sabuild(dir, ["build"]).code).toBe(0);
    expect(sabuild(dir, ["build", "--locked"]).code).toBe(0);
    const lock = readFileSync(join(dir, "sabuild.lock"), "utf8");
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("holdout: 0", "holdout: 0.25"));
    const r = sabuild(dir, ["build", "--locked"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--locked: 1 stage(s) drifted from sabuild.lock");
    expect(r.stderr).toContain("alpha:tasks: param holdout changed: 0 -> 0.25");
    expect(readFileSync(join(dir, "sabuild.lock"), "utf8")).toBe(lock);
  });

  it("rebuilds missing outputs under --locked when the inputs match", () => {
    const dir = engineProject({ tasks: 2 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    expect(sabuild(dir, ["clean"]).code).toBe(0);
    const r = sabuildJson<Stages>(dir, ["build", "--locked"]);
    expect(r.__code).toBe(0);
    expect(statusOf(r, "alpha:traces")).toBe("built");
  });
});

describe("the no-op fast path", () => {
  it("stops trusting sabuild.lock when the store is wiped by hand", () => {
    const dir = engineProject({ tasks: 2 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    expect(sabuild(dir, ["build"]).code).toBe(0);
    expect(readdirSync(join(dir, "cache/verified"))).toHaveLength(1);
    rmSync(join(dir, "cache/cas"), { recursive: true });
    rmSync(join(dir, "cache/trees"), { recursive: true });
    const plan = sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"]);
    expect(plan.stages.find((s) => s.id === "alpha:tasks")!.status).toBe("will-run");
    const build = sabuildJson<Stages>(dir, ["build"]);
    expect(statusOf(build, "alpha:traces")).toBe("built");
    expect(sabuild(dir, ["cache", "verify"]).code).toBe(0);
  });
});
