import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, sabuild, sabuildJson, spawnSabuild, tempDir, waitFor } from "./helpers.js";
import { addTasks, engineProject, runLog } from "./engine-project.js";
import { startNginx, type Nginx } from "./nginx.js";

type Build = {
  ok: boolean;
  stages: { id: string; status: string }[];
  remote?: { available: boolean; fetchedBlobs: number; uploadedBlobs: number; uploadedBytes: number; skippedBlobs: number };
};
const statuses = (b: Build): Record<string, string> => Object.fromEntries(b.stages.filter((s) => s.status !== "unavailable").map((s) => [s.id, s.status]));

/** A second checkout of the same project: its files and sabuild.lock, no store. */
function freshClone(dir: string): string {
  const clone = tempDir("sabuild-clone-");
  for (const f of ["subagents.yaml", "tasks.jsonl", "sabuild.lock"]) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(clone, f));
  mkdirSync(join(clone, "plugins"));
  copyFileSync(join(dir, "plugins/map-traces.mjs"), join(clone, "plugins/map-traces.mjs"));
  return clone;
}

function files(d: string): string[] {
  return existsSync(d) ? readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)])) : [];
}

let server: Nginx;
beforeAll(async () => {
  server = await startNginx();
});
afterAll(async () => {
  await server.stop();
});

describe("remote cache over HTTP (nginx WebDAV)", () => {
  it("round-trips a pipeline's artifacts: a fresh clone fetches everything and builds nothing", () => {
    const env = { SABUILD_REMOTE_CACHE: `${server.url}/rt` };
    const dir = engineProject({ tasks: 4 });
    const first = sabuildJson<Build>(dir, ["build"], env);
    expect(first.ok).toBe(true);
    expect(first.remote).toMatchObject({ available: true });
    expect(first.remote!.uploadedBlobs).toBeGreaterThan(0);
    expect(readdirSync(join(server.data, "rt/ac")).length).toBeGreaterThan(3);

    const clone = freshClone(dir);
    const plan = sabuildJson<{ stages: { id: string; status: string; fetch?: { files: number; bytes: number } }[] }>(clone, ["plan"], env);
    const traces = plan.stages.find((s) => s.id === "alpha:traces")!;
    expect(traces.status).toBe("will-fetch");
    expect(traces.fetch!.files).toBeGreaterThan(0);
    expect(traces.fetch!.bytes).toBeGreaterThan(0);
    expect(sabuild(clone, ["plan"], env).stdout).toMatch(/↓ alpha:traces\s+will-fetch \[\d+ files, [\d.]+ (B|KiB)\]/);

    const log = join(clone, "runs.log");
    const second = sabuildJson<Build>(clone, ["build", "--locked"], { ...env, RUN_LOG: log });
    expect(second.ok).toBe(true);
    expect(statuses(second)).toEqual({ "alpha:import": "fetched", "alpha:tasks": "fetched", "alpha:traces": "fetched" });
    expect(runLog(log)).toEqual([]);
    expect(sabuild(clone, ["cache", "verify"]).code).toBe(0);
    expect(statuses(sabuildJson<Build>(clone, ["build"], env))).toEqual({ "alpha:import": "up-to-date", "alpha:tasks": "up-to-date", "alpha:traces": "up-to-date" });

    // Map items travel too: after adding a task, the clone runs only the new one.
    addTasks(clone, 1, 50);
    expect(sabuild(clone, ["build"], { ...env, RUN_LOG: log }).code).toBe(0);
    expect(runLog(log)).toEqual(["t50"]);
  });

  it("uploads only what the server lacks", () => {
    const env = { SABUILD_REMOTE_CACHE: `${server.url}/dedup` };
    const dir = engineProject({ tasks: 20 });
    const first = sabuildJson<Build>(dir, ["build"], env);
    addTasks(dir, 1, 100);
    const second = sabuildJson<Build>(dir, ["build"], env);
    // One new item: its trace, its log, its manifest, and the stage-level blobs that changed.
    expect(second.remote!.uploadedBlobs).toBeLessThan(first.remote!.uploadedBlobs / 3);
    expect(second.remote!.skippedBlobs).toBeGreaterThan(20);
  });

  it("treats a tampered blob on the server as a miss, with a warning", () => {
    const env = { SABUILD_REMOTE_CACHE: `${server.url}/tamper` };
    const dir = engineProject({ tasks: 2 });
    expect(sabuild(dir, ["build"], env).code).toBe(0);
    const tasksBlob = sabuildJson<{ files: { path: string; digest: string }[] }>(dir, ["artifacts", "alpha:tasks"]).files.find((f) => f.path === "tasks.jsonl")!;
    writeFileSync(join(server.data, "tamper/cas", tasksBlob.digest), '{"id":"evil","prompt":"rm -rf /"}\n');
    const clone = freshClone(dir);
    const r = sabuild(clone, ["build", "--json"], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`blob ${tasksBlob.digest.slice(0, 12)} from the remote cache has the wrong content`);
    expect(statuses(JSON.parse(r.stdout) as Build)["alpha:tasks"]).toBe("built");
    expect(sabuild(clone, ["cache", "verify"]).code).toBe(0);
    const local = sabuildJson<{ files: { path: string; blob: string }[] }>(clone, ["artifacts", "alpha:tasks"]).files.find((f) => f.path === "tasks.jsonl")!;
    expect(readFileSync(local.blob, "utf8")).not.toContain("evil");
  });

  it("rejects action results whose HMAC does not match the shared key", () => {
    const url = `${server.url}/hmac`;
    const dir = engineProject({ tasks: 2 });
    expect(sabuild(dir, ["build"], { SABUILD_REMOTE_CACHE: url, SABUILD_REMOTE_CACHE_HMAC_KEY: "key-one" }).code).toBe(0);
    const wrong = sabuild(freshClone(dir), ["build", "--json", "--remote-cache", "read"], { SABUILD_REMOTE_CACHE: url, SABUILD_REMOTE_CACHE_HMAC_KEY: "key-two" });
    expect(wrong.stderr).toContain("signature does not match (HMAC)");
    expect(statuses(JSON.parse(wrong.stdout) as Build)["alpha:import"]).toBe("built");
    const right = sabuildJson<Build>(freshClone(dir), ["build"], { SABUILD_REMOTE_CACHE: url, SABUILD_REMOTE_CACHE_HMAC_KEY: "key-one" });
    expect(statuses(right)["alpha:traces"]).toBe("fetched");
    // A reader with a key refuses unsigned results.
    const unsignedUrl = `${server.url}/unsigned`;
    expect(sabuild(dir, ["build", "--remote-cache", "readwrite"], { SABUILD_REMOTE_CACHE: unsignedUrl }).code).toBe(0);
    expect(sabuild(dir, ["clean"]).code).toBe(0);
    expect(sabuild(dir, ["build"], { SABUILD_REMOTE_CACHE: unsignedUrl }).code).toBe(0);
    const strict = sabuild(freshClone(dir), ["build"], { SABUILD_REMOTE_CACHE: unsignedUrl, SABUILD_REMOTE_CACHE_HMAC_KEY: "key-one" });
    expect(strict.stderr).toContain("action result is not signed");
  });

  it("uploads nothing in read-only mode", () => {
    const env = { SABUILD_REMOTE_CACHE: `${server.url}/readonly` };
    const dir = engineProject({ tasks: 3 });
    const r = sabuildJson<Build>(dir, ["build", "--remote-cache", "read"], env);
    expect(r.ok).toBe(true);
    expect(r.remote!.uploadedBlobs).toBe(0);
    expect(files(join(server.data, "readonly"))).toEqual([]);
  });

  it("degrades to a local build when the server is unreachable, and says so", () => {
    const dir = engineProject({ tasks: 2 });
    const r = sabuild(dir, ["build", "--json"], { SABUILD_REMOTE_CACHE: "http://127.0.0.1:9" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("remote cache unavailable, going on without it");
    expect(r.stderr.match(/remote cache unavailable/g)).toHaveLength(1);
    expect(statuses(JSON.parse(r.stdout) as Build)["alpha:traces"]).toBe("built");
  });

  it("keeps the local store consistent when the server dies mid-upload", async () => {
    const other = await startNginx();
    const dir = engineProject({ tasks: 8 });
    const log = join(dir, "runs.log");
    const child = spawnSabuild(dir, ["build", "-j", "1"], { SABUILD_REMOTE_CACHE: other.url, RUN_LOG: log, SLOW_MS: "150" });
    await waitFor(() => runLog(log).length >= 3, 30_000, "3 items");
    await other.stop();
    expect(await exited(child)).toBe(0);
    expect(child.output()).toContain("remote cache unavailable, going on without it");
    expect(runLog(log)).toHaveLength(8);
    expect(sabuildJson<{ ok: boolean }>(dir, ["cache", "verify"]).ok).toBe(true);
    expect(sabuildJson<Build>(dir, ["build"]).stages.every((s) => s.status === "up-to-date" || s.status === "unavailable")).toBe(true);
  });

  it("takes its settings from subagents.yaml, with secrets from the environment", () => {
    const dir = engineProject({ tasks: 2 });
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("plugins:", `remote_cache:\n  url: ${server.url}/configured\n  headers:\n    Authorization: Bearer \${CACHE_TOKEN}\nplugins:`));
    // Without the cache's credentials a build still works, locally, and says why.
    const missing = sabuild(dir, ["build"]);
    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain("warning: remote cache disabled: remote_cache.headers.Authorization: environment variable CACHE_TOKEN is not set");
    expect(existsSync(join(server.data, "configured"))).toBe(false);
    const asked = sabuild(dir, ["build", "--remote-cache", "readwrite"]);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain("environment variable CACHE_TOKEN is not set");
    expect(sabuild(dir, ["clean"]).code).toBe(0);
    expect(sabuild(dir, ["build"], { CACHE_TOKEN: "t0ken" }).code).toBe(0);
    expect(readdirSync(join(server.data, "configured/ac")).length).toBeGreaterThan(0);
    const off = sabuildJson<Build>(dir, ["build", "--remote-cache", "off"]);
    expect(off.remote).toBeUndefined();
  });
});

describe("cache prune-remote", () => {
  it("deletes old results and the blobs only they needed, keeps the rest", async () => {
    const { utimesSync } = await import("node:fs");
    const url = `${server.url}/prune`;
    const dir = engineProject({ tasks: 2 });
    const cfg = join(dir, "subagents.yaml");
    const original = readFileSync(cfg, "utf8");
    writeFileSync(cfg, original.replace("holdout: 0", "holdout: 0.5"));
    expect(sabuild(dir, ["build"], { SABUILD_REMOTE_CACHE: url }).code).toBe(0);
    // Age everything uploaded so far by 40 days, as if those results were built long ago.
    const old = new Date(Date.now() - 40 * 86_400_000);
    for (const f of files(join(server.data, "prune"))) utimesSync(f, old, old);
    writeFileSync(cfg, original);
    expect(sabuild(dir, ["build"], { SABUILD_REMOTE_CACHE: url }).code).toBe(0);
    const before = files(join(server.data, "prune")).length;

    const dry = sabuildJson<{ removedResults: number; removedBlobs: number }>(dir, ["cache", "prune-remote", "--older-than", "30d", "--dry-run"], { SABUILD_REMOTE_CACHE: url });
    expect(dry.removedResults).toBeGreaterThan(0);
    expect(files(join(server.data, "prune")).length).toBe(before);
    const report = sabuildJson<{ removedResults: number; removedBlobs: number; keptResults: number }>(dir, ["cache", "prune-remote", "--older-than", "30d"], { SABUILD_REMOTE_CACHE: url });
    expect(report).toMatchObject({ removedResults: dry.removedResults, removedBlobs: dry.removedBlobs });
    expect(files(join(server.data, "prune")).length).toBe(before - report.removedResults - report.removedBlobs);
    // What the current lock needs is still complete on the server: a fresh clone fetches it all.
    const clone = freshClone(dir);
    expect(statuses(sabuildJson<Build>(clone, ["build"], { SABUILD_REMOTE_CACHE: url }))).toEqual({ "alpha:import": "fetched", "alpha:tasks": "fetched", "alpha:traces": "fetched" });
    const bad = sabuild(dir, ["cache", "prune-remote", "--older-than", "soon"], { SABUILD_REMOTE_CACHE: url });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--older-than expects an age such as 30d");
  });
});
