import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { nameHash } from "../src/store/name-hash.js";
import { describe, expect, it } from "vitest";
import { copyExample, exited, REPO, sabuild, sabuildJson, spawnSabuild, waitFor } from "./helpers.js";
import { addTasks, engineProject } from "./engine-project.js";
import { tasksStage } from "../src/stages/tasks.js";

describe("explain", () => {
  it("diffs the stored key preimage against now, field by field", () => {
    const dir = engineProject();
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("holdout: 0", "holdout: 0.5"));
    addTasks(dir, 1, 50);
    const r = sabuildJson<{ status: string; fields: { field: string; old?: unknown; now?: unknown; changed: boolean }[] }>(dir, ["explain", "alpha:tasks"]);
    expect(r.status).toBe("will-run");
    const changed = r.fields.filter((f) => f.changed).map((f) => f.field);
    expect(changed).toEqual(["files.tasks.jsonl", "params.holdout"]);
    expect(r.fields.find((f) => f.field === "params.holdout")).toMatchObject({ old: 0, now: 0.5 });
    // The stage's own version, unchanged between the two builds (read, not written down: it moves).
    const version = tasksStage().version;
    expect(r.fields.find((f) => f.field === "version")).toMatchObject({ changed: false, now: version });
    const human = sabuild(dir, ["explain", "alpha:tasks"]);
    expect(human.stdout).toContain("≠ params.holdout: 0 -> 0.5");
    expect(human.stdout).toContain(`= version: ${version}`);
  });
});

describe("watch", () => {
  it("rebuilds after an edit and survives a broken config", async () => {
    const dir = engineProject({ tasks: 2 });
    const child = spawnSabuild(dir, ["watch", "--debounce", "100"]);
    try {
      await waitFor(() => child.output().includes("[watch] watching"), 30_000, "the first build");
      expect(child.output()).toContain("alpha:traces built");
      addTasks(dir, 1, 3);
      await waitFor(() => child.output().includes("(1 items run, 2 reused)"), 30_000, "a rebuild after the edit");
      const cfg = join(dir, "subagents.yaml");
      const good = readFileSync(cfg, "utf8");
      writeFileSync(cfg, good.replace("holdout: 0", "holdot: 0"));
      await waitFor(() => child.output().includes('did you mean "holdout"?'), 30_000, "the config error");
      writeFileSync(cfg, good.replace("holdout: 0", "holdout: 0.9"));
      await waitFor(() => child.output().split("[watch] build succeeded").length >= 4, 30_000, "a build after the fix");
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill("SIGINT");
      await exited(child);
    }
    expect(sabuildJson<{ stages: { status: string }[] }>(dir, ["plan"]).stages.every((s) => s.status === "up-to-date" || s.status === "unavailable")).toBe(true);
  });
});

/** Two builds: one with holdout 0.5, then one with the original config, so the store holds both. */
function buildWithHoldoutThenBack(dir: string): { cfg: string; original: string } {
  const cfg = join(dir, "subagents.yaml");
  const original = readFileSync(cfg, "utf8");
  writeFileSync(cfg, original.replace("holdout: 0", "holdout: 0.5"));
  expect(sabuild(dir, ["build"]).code).toBe(0);
  writeFileSync(cfg, original);
  expect(sabuild(dir, ["build"]).code).toBe(0);
  return { cfg, original };
}

describe("gc and clean", () => {
  it("keeps everything sabuild.lock references and drops the rest", () => {
    const dir = engineProject({ tasks: 3 });
    buildWithHoldoutThenBack(dir);
    const before = sabuildJson<{ results: { stage: string }[] }>(dir, ["cache", "ls"]).results.length;
    const gc = sabuildJson<{ removedResults: number; removedBlobs: number }>(dir, ["gc", "--keep-builds", "0"]);
    expect(gc.removedResults).toBeGreaterThan(0);
    const after = sabuildJson<{ results: { stage: string }[] }>(dir, ["cache", "ls"]).results.length;
    expect(after).toBe(before - gc.removedResults);
    const plan = sabuildJson<{ stages: { status: string }[] }>(dir, ["plan"]);
    expect(plan.stages.every((s) => s.status === "up-to-date" || s.status === "unavailable")).toBe(true);
    expect(sabuild(dir, ["cache", "verify"]).code).toBe(0);
  });

  it("keeps the results of recent builds unless told otherwise", () => {
    const dir = engineProject({ tasks: 2 });
    const { cfg, original } = buildWithHoldoutThenBack(dir);
    expect(sabuildJson<{ removedResults: number }>(dir, ["gc"]).removedResults).toBe(0);
    writeFileSync(cfg, original.replace("holdout: 0", "holdout: 0.5"));
    expect(sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"]).stages.find((s) => s.id === "alpha:tasks")!.status).toBe("cached");
  });

  it("clean with a target forgets that stage's results only", () => {
    const dir = engineProject({ tasks: 2 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    expect(sabuild(dir, ["clean", "alpha:traces"]).stdout).toContain("forgot the results of alpha:traces");
    const plan = sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"]);
    expect(plan.stages.find((s) => s.id === "alpha:tasks")!.status).toBe("up-to-date");
    expect(plan.stages.find((s) => s.id === "alpha:traces")!.status).toBe("will-run");
    expect(sabuild(dir, ["clean"]).code).toBe(0);
    expect(existsSync(join(dir, "cache/cas"))).toBe(false);
  });
});

describe("secrets", () => {
  it("never writes an interpolated secret into the store, the lock file or logs", async () => {
    // The example with a real endpoint instead of its stand-in: a local OpenAI-compatible server
    // that demands the key, answering with the example's scripted policy.
    const { startStandin } = await import("../src/standin/server.js");
    const { policy } = (await import(join(REPO, "example/teacher/policy.mjs"))) as { policy: Parameters<typeof startStandin>[0]["policy"] };
    const secret = "sk-test-SECRET-value-0123456789";
    const server = await startStandin({ policy, apiKey: secret });
    try {
      const dir = copyExample();
      const cfg = join(dir, "subagents.yaml");
      writeFileSync(cfg, readFileSync(cfg, "utf8").replace("    standin: example/teacher/policy.mjs\n", "    base_url: ${SABUILD_TEACHER_URL}\n    api_key: ${SABUILD_TEACHER_KEY}\n"));
      const env = { SABUILD_TEACHER_KEY: secret, SABUILD_TEACHER_URL: server.url };
      // Asynchronously: the stand-in answers from this process, so it must not block on the child.
      const child = spawnSabuild(dir, ["build", "--verbose", "changelog-writer:traces"], env);
      const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
      const r = { code, stdout: child.output(), stderr: "" };
      expect(r.code, r.stdout).toBe(0);
      expect(server.stats.completed).toBeGreaterThan(0);
      expect(server.stats.authorizations.every((a) => a === `Bearer ${secret}`)).toBe(true);
      expect(r.stdout + r.stderr).not.toContain(secret);
      const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));
      // This project's entry in the resolved-config cache (other test files write their own beside it).
      const configCache = join(tmpdir(), `sabuild-${process.getuid?.() ?? "user"}`, `config-${nameHash(join(dir, "subagents.yaml"))}.json`);
      expect(existsSync(configCache)).toBe(true);
      for (const f of [...files(join(dir, "cache")), join(dir, "sabuild.lock"), configCache]) {
        if (f.endsWith("/lock")) continue;
        expect(readFileSync(f, "utf8"), f).not.toContain(secret);
      }
      // Changing the secret's value changes no key.
      const plan = sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan", "changelog-writer:traces"], { ...env, SABUILD_TEACHER_KEY: "another-value" });
      expect(plan.stages.every((s) => s.status === "up-to-date")).toBe(true);
    } finally {
      await server.close();
    }
  }, 180_000);
});

describe("CLI basics", () => {
  it("reports bad config with file:line:col and exit code 2, no stack trace", () => {
    const dir = engineProject();
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("holdout: 0", "holdout: lots"));
    const r = sabuild(dir, ["plan"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/subagents\.yaml:12:\d+: subagents\.alpha\.tasks\.holdout:/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const j = sabuild(dir, ["plan", "--json"]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, problems: [{ file: "subagents.yaml", line: 12, keyPath: ["subagents", "alpha", "tasks", "holdout"] }] });
  });

  it("reports a bad task file line with its position", () => {
    const dir = engineProject();
    writeFileSync(join(dir, "tasks.jsonl"), '{"prompt": "fine"}\n{"prompt": }\n{"id": "x"}\n');
    const r = sabuild(dir, ["build"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("tasks.jsonl:2:1: not valid JSON");
    expect(r.stderr).toContain('tasks.jsonl:3:1: missing "prompt"');
  });

  it("rejects unknown commands and options with a suggestion", () => {
    const dir = engineProject();
    const a = sabuild(dir, ["bulid"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command "bulid" (did you mean "build"?)');
    const b = sabuild(dir, ["build", "--lockd"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("did you mean --locked?");
  });

  it("runs from another directory with -C and prints its version", () => {
    const dir = engineProject();
    expect(sabuildJson<{ stages: unknown[] }>("/", ["plan", "-C", dir]).stages.length).toBe(10);
    const v = sabuild(dir, ["--version"]);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")).version);
  });

  it("status summarises each subagent", () => {
    const dir = copyExample();
    expect(sabuild(dir, ["build", "tasks"]).code).toBe(0);
    const s = sabuildJson<{ upToDate: boolean; subagents: { name: string; stages: Record<string, string> }[] }>(dir, ["status"]);
    expect(s.upToDate).toBe(false);
    expect(s.subagents.map((x) => x.name)).toEqual(["test-runner", "code-searcher", "changelog-writer", "researcher"]);
    expect(s.subagents[0]!.stages).toMatchObject({ import: "up-to-date", tasks: "up-to-date" });
    expect(s.subagents[0]!.stages.train).not.toBe("up-to-date");
  });
});

describe("large --json output", () => {
  it("reaches a reader in full, through a pipe", async () => {
    const { spawnSync } = await import("node:child_process");
    const { CLI } = await import("./helpers.js");
    const dir = engineProject({ tasks: 1 });
    // 200 subagents make the plan document (~600 KB) overflow a pipe buffer many times over.
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8") + Array.from({ length: 200 }, (_, i) => `  extra-${i}:\n    extends: alpha\n`).join(""));
    const r = spawnSync(process.execPath, [CLI, "plan", "--json"], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 30 });
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(300_000);
    const plan = JSON.parse(r.stdout) as { stages: { id: string }[] };
    expect(plan.stages).toHaveLength(201 * 10);
  });
});

describe("gc --max-size", () => {
  it("keeps unreferenced results, most recently used first, up to the cap", () => {
    const dir = engineProject({ tasks: 2 });
    const cfg = join(dir, "subagents.yaml");
    const original = readFileSync(cfg, "utf8");
    for (const h of ["0.1", "0.2", "0.3"]) {
      writeFileSync(cfg, original.replace("holdout: 0", `holdout: ${h}`));
      expect(sabuild(dir, ["build"]).code).toBe(0);
    }
    writeFileSync(cfg, original);
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const all = sabuildJson<{ keptResults: number; keptBytes: number; removedResults: number }>(dir, ["gc", "--keep-builds", "0", "--max-size", "1G", "--dry-run"]);
    expect(all.removedResults).toBe(0);
    const none = sabuildJson<{ keptResults: number; keptBytes: number; removedResults: number }>(dir, ["gc", "--keep-builds", "0", "--dry-run"]);
    expect(none.removedResults).toBeGreaterThan(0);
    expect(none.keptBytes).toBeLessThan(all.keptBytes);
    // A cap between "lock only" and "everything": the store fits under it, the lock's results stay.
    const cap = Math.floor((none.keptBytes + all.keptBytes) / 2);
    const capped = sabuildJson<{ keptResults: number; keptBytes: number }>(dir, ["gc", "--keep-builds", "0", "--max-size", String(cap)]);
    expect(capped.keptBytes).toBeLessThanOrEqual(cap);
    expect(capped.keptResults).toBeGreaterThanOrEqual(none.keptResults);
    expect(capped.keptResults).toBeLessThan(all.keptResults);
    const plan = sabuildJson<{ stages: { status: string }[] }>(dir, ["plan"]);
    expect(plan.stages.every((s) => s.status === "up-to-date" || s.status === "unavailable")).toBe(true);
    const bad = sabuild(dir, ["gc", "--max-size", "lots"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--max-size expects a size such as 500M or 20G");
  });
});

describe("the interactive view", () => {
  it("draws a listr2 tree on a terminal, with item progress and results", async () => {
    const { spawnSync } = await import("node:child_process");
    const { CLI } = await import("./helpers.js");
    const dir = engineProject({ tasks: 4 });
    const log = join(dir, "tty.log");
    // util-linux `script` gives the CLI a pseudo-terminal, as a user's shell would.
    const env = { ...process.env, SLOW_MS: "200" } as Record<string, string>;
    delete env.CI;
    const r = spawnSync("script", ["-qec", `stty cols 120 rows 40; ${process.execPath} ${CLI} build -j 1`, log], { cwd: dir, env, encoding: "utf8" });
    expect(r.status).toBe(0);
    const screen = readFileSync(log, "utf8").replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "").replace(/\r/g, "\n");
    expect(screen).toMatch(/alpha:traces \(\d\/4 items, \ds\)/);
    expect(screen).toMatch(/✔ alpha:traces built in/);
    expect(screen).toContain("4 built, 0 restored, 0 up-to-date, 6 unavailable");
    const again = spawnSync("script", ["-qec", `stty cols 120 rows 40; ${process.execPath} ${CLI} build`, log], { cwd: dir, env, encoding: "utf8" });
    expect(again.status).toBe(0);
    expect(readFileSync(log, "utf8")).toContain("alpha:traces up-to-date");
  });
});

describe("missing input files", () => {
  it("point at the subagents.yaml key that names them", () => {
    const dir = engineProject();
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("from: tasks.jsonl", "from: [tasks.jsonl, more-tasks.jsonl]"));
    const plan = sabuild(dir, ["plan"]);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain("subagents.yaml:11:27: subagents.alpha.tasks.from[1]: task file more-tasks.jsonl not found");
    const build = sabuild(dir, ["build", "--json"]);
    expect(build.code).toBe(2);
    const doc = JSON.parse(build.stdout) as { stages: { id: string; problems?: { line: number; keyPath: unknown[] }[] }[] };
    expect(doc.stages.find((s) => s.id === "alpha:tasks")!.problems).toEqual([expect.objectContaining({ line: 11, keyPath: ["subagents", "alpha", "tasks", "from", 1] })]);
  });

  it("name the missing agent file at its source key", () => {
    const dir = copyExample();
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("agents/code-searcher.md", "agents/code-searcer.md"));
    const r = sabuild(dir, ["build", "tasks"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/subagents\.yaml:\d+:\d+: subagents\.code-searcher\.source\.agent: agent file not found: example\/\.claude\/agents\/code-searcer\.md/);
    // The other subagents still build.
    expect(r.stderr).toContain("✓ test-runner:tasks built");
  });
});
