import { readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sabuild, sabuildJson } from "./helpers.js";
import { addTasks, engineProject, runLog } from "./engine-project.js";

type Stages = { stages: { id: string; status: string; reasons: { type: string; message: string; path?: string; old?: unknown; new?: unknown }[]; key?: string; output?: string }[] };
const stage = (r: Stages, id: string) => r.stages.find((s) => s.id === id)!;

describe("plan and build", () => {
  it("plans a fresh project, builds it, and then has nothing to do", () => {
    const dir = engineProject();
    const plan = sabuildJson<Stages>(dir, ["plan"]);
    expect(plan.__code).toBe(0);
    expect(stage(plan, "alpha:import")).toMatchObject({ status: "will-run", reasons: [{ type: "new" }] });
    expect(stage(plan, "alpha:tasks").status).toBe("will-run");
    expect(stage(plan, "alpha:tasks").reasons).toEqual([expect.objectContaining({ type: "upstream-will-run", stage: "alpha:import" })]);
    expect(stage(plan, "alpha:train")).toMatchObject({ status: "unavailable" });
    expect(stage(plan, "alpha:train").reasons[0]!.message).toMatch(/train is after alpha's until: traces/);

    const build = sabuildJson<Stages>(dir, ["build"]);
    expect(build.__code).toBe(0);
    expect(stage(build, "alpha:import").status).toBe("built");
    expect(stage(build, "alpha:traces").status).toBe("built");
    expect(stage(build, "alpha:train").status).toBe("unavailable");
    expect(existsSync(join(dir, "sabuild.lock"))).toBe(true);

    const again = sabuildJson<Stages>(dir, ["build"]);
    expect(again.stages.filter((s) => s.status === "built")).toEqual([]);
    expect(stage(again, "alpha:traces").status).toBe("up-to-date");
    const plan2 = sabuildJson<Stages>(dir, ["plan"]);
    expect(plan2.stages.filter((s) => s.status !== "unavailable").every((s) => s.status === "up-to-date")).toBe(true);
  });

  it("names the param that changed, old -> new, and reruns only what depends on it", () => {
    const dir = engineProject();
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("holdout: 0", "holdout: 0.5"));
    const plan = sabuildJson<Stages>(dir, ["plan"]);
    expect(stage(plan, "alpha:import").status).toBe("up-to-date");
    expect(stage(plan, "alpha:tasks").reasons).toEqual([expect.objectContaining({ type: "param", path: "holdout", old: 0, new: 0.5 })]);
    expect(stage(plan, "alpha:tasks").reasons[0]!.message).toBe("param holdout changed: 0 -> 0.5");
    const human = sabuild(dir, ["plan"]);
    expect(human.stdout).toContain("param holdout changed: 0 -> 0.5");
  });

  it("names the file that changed", () => {
    const dir = engineProject();
    expect(sabuild(dir, ["build"]).code).toBe(0);
    addTasks(dir, 1, 100);
    const plan = sabuildJson<Stages>(dir, ["plan"]);
    expect(stage(plan, "alpha:tasks")).toMatchObject({ status: "will-run", reasons: [{ type: "file", path: "tasks.jsonl", message: "file tasks.jsonl modified" }] });
  });

  it("stops at a rebuild whose output is unchanged (early cutoff)", () => {
    const dir = engineProject();
    expect(sabuild(dir, ["build"]).code).toBe(0);
    // Key order and spacing change the file but not the tasks it holds.
    const file = join(dir, "tasks.jsonl");
    const reformatted = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => { const t = JSON.parse(l); return JSON.stringify({ prompt: t.prompt, id: t.id }, null, 0).replace(",", ", "); }).join("\n") + "\n";
    writeFileSync(file, reformatted);
    const build = sabuildJson<Stages>(dir, ["build"]);
    expect(build.__code).toBe(0);
    expect(stage(build, "alpha:tasks").status).toBe("built");
    expect(stage(build, "alpha:traces").status).toBe("up-to-date");
  });

  it("restores from the store what sabuild.lock does not name (cached), without running it", () => {
    const dir = engineProject();
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const lock = readFileSync(join(dir, "sabuild.lock"), "utf8");
    const cfg = join(dir, "subagents.yaml");
    const original = readFileSync(cfg, "utf8");
    writeFileSync(cfg, original.replace("holdout: 0", "holdout: 0.5"));
    expect(sabuild(dir, ["build"]).code).toBe(0);
    writeFileSync(cfg, original);
    const plan = sabuildJson<Stages>(dir, ["plan"]);
    expect(stage(plan, "alpha:tasks").status).toBe("cached");
    const build = sabuildJson<Stages>(dir, ["build"]);
    expect(stage(build, "alpha:tasks").status).toBe("restored");
    expect(readFileSync(join(dir, "sabuild.lock"), "utf8")).toBe(lock);
  });
});

describe("map stages", () => {
  it("runs only the new items when tasks are added", () => {
    const dir = engineProject({ tasks: 5 });
    const log = join(dir, "runs.log");
    expect(sabuild(dir, ["build"], { RUN_LOG: log }).code).toBe(0);
    expect(runLog(log)).toHaveLength(5);
    addTasks(dir, 3, 6);
    // tasks will rerun, so plan cannot know traces' items yet; once tasks is built it can.
    expect(sabuild(dir, ["build", "alpha:tasks"]).code).toBe(0);
    const plan = sabuildJson<{ stages: { id: string; items?: { cached: number; total: number } }[] }>(dir, ["plan"]);
    expect(plan.stages.find((s) => s.id === "alpha:traces")!.items).toEqual({ cached: 5, total: 8 });
    expect(sabuild(dir, ["plan"]).stdout).toMatch(/alpha:traces\s+will-run \[3 of 8 items to run\]/);
    const build = sabuild(dir, ["build"], { RUN_LOG: log });
    expect(build.code).toBe(0);
    expect(runLog(log).slice(5).sort()).toEqual(["t6", "t7", "t8"]);
    expect(build.stderr).toContain("alpha:traces built");
    expect(build.stderr).toContain("(3 items run, 5 reused)");
  });

  it("reruns every item when an upstream other than the one it maps over changes", () => {
    const dir = engineProject({ tasks: 4 });
    const log = join(dir, "runs.log");
    expect(sabuild(dir, ["build"], { RUN_LOG: log }).code).toBe(0);
    expect(runLog(log)).toHaveLength(4);
    // The prompt reaches the items through the import output, not through their own input.
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("prompt: You answer questions.", "prompt: You answer questions briefly."));
    const build = sabuildJson<{ stages: { id: string; status: string; items?: { run: number; reused: number } }[] }>(dir, ["build"], { RUN_LOG: log });
    expect(build.__code).toBe(0);
    expect(build.stages.find((s) => s.id === "alpha:traces")).toMatchObject({ status: "built", items: { run: 4, reused: 0 } });
    expect(runLog(log).slice(4).sort()).toEqual(["t1", "t2", "t3", "t4"]);
  });

  it("keeps the finished items when one item fails, and reruns only the failed one", () => {
    const dir = engineProject({ tasks: 4 });
    const log = join(dir, "runs.log");
    const failed = sabuild(dir, ["build"], { RUN_LOG: log, FAIL_ITEM: "t3" });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("1 of 4 items failed");
    expect(failed.stderr).toContain("item t3 exploded");
    expect(runLog(log).sort()).toEqual(["t1", "t2", "t4"]);
    expect(sabuild(dir, ["build"], { RUN_LOG: log }).code).toBe(0);
    expect(runLog(log).slice(3)).toEqual(["t3"]);
  });

  it("lists a stage's artifacts with their blobs in the store", () => {
    const dir = engineProject({ tasks: 2 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const a = sabuildJson<{ files: { path: string; digest: string; size: number; blob: string }[] }>(dir, ["artifacts", "alpha:traces"]);
    expect(a.files.map((f) => f.path)).toEqual(["index.json", "items/t1/trace.json", "items/t2/trace.json"]);
    for (const f of a.files) {
      expect(existsSync(f.blob)).toBe(true);
      expect(readFileSync(f.blob).length).toBe(f.size);
    }
    expect(JSON.parse(readFileSync(a.files[1]!.blob, "utf8"))).toEqual({ prompt: "task number 1", answer: "TASK NUMBER 1" });
  });
});

describe("targets", () => {
  it("builds a single stage and its dependencies only", () => {
    const dir = engineProject();
    const build = sabuildJson<Stages>(dir, ["build", "alpha:tasks"]);
    expect(build.stages.map((s) => s.id)).toEqual(["alpha:import", "alpha:tasks"]);
  });

  it("rejects an unknown target with a suggestion (exit 2)", () => {
    const dir = engineProject();
    const r = sabuild(dir, ["build", "alpah:tasks"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown scope "alpah" in target "alpah:tasks" (did you mean "alpha"?)');
    const s = sabuild(dir, ["plan", "alpha:taks"]);
    expect(s.stderr).toContain('(did you mean "tasks"?)');
  });

  it("refuses to build an explicitly named stage that is not available", () => {
    const dir = engineProject();
    const r = sabuild(dir, ["build", "alpha:train"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("alpha:train: train is after alpha's until: traces");
    // A kind whose every stage is unavailable is refused too.
    const kind = sabuild(dir, ["build", "train"]);
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain("alpha:train: train is after alpha's until: traces");
  });

  it("builds a subagent named as a target as far as its until goes; the stages after it are unavailable, not an error", () => {
    const dir = engineProject();
    const build = sabuildJson<Stages>(dir, ["build", "alpha"]);
    expect(build.__code).toBe(0);
    expect(stage(build, "alpha:traces").status).toBe("built");
    expect(stage(build, "alpha:train").status).toBe("unavailable");
    expect(sabuildJson<Stages>(dir, ["build", "alpha"]).stages.filter((s) => s.status !== "unavailable").every((s) => s.status === "up-to-date")).toBe(true);
  });
});

describe("import inputs", () => {
  it("makes a skill stale when a bundled script is edited or a file is added", async () => {
    const { copyExample } = await import("./helpers.js");
    const dir = copyExample();
    // Up to tasks: what the import stage's inputs reach, without the ML stages.
    const first = sabuildJson<Stages>(dir, ["build", "tasks"]);
    expect(first.__code).toBe(0);
    const script = join(dir, "example/skills/changelog-writer/scripts/commits.sh");
    writeFileSync(script, readFileSync(script, "utf8") + "# tweak\n");
    writeFileSync(join(dir, "example/skills/changelog-writer/references/EXTRA.md"), "more\n");
    const plan = sabuildJson<Stages>(dir, ["plan"]);
    expect(stage(plan, "changelog-writer:import").reasons.map((r) => r.message)).toEqual([
      "file example/skills/changelog-writer/references/EXTRA.md added",
      "file example/skills/changelog-writer/scripts/commits.sh modified",
    ]);
    expect(stage(plan, "test-runner:import").status).toBe("up-to-date");
    const build = sabuildJson<Stages>(dir, ["build", "tasks"]);
    expect(stage(build, "changelog-writer:import").status).toBe("built");
    // tasks reruns because its upstream output changed, and yields the same output: what
    // depends on tasks alone would stop there.
    expect(stage(build, "changelog-writer:tasks").status).toBe("built");
    expect(stage(build, "changelog-writer:tasks").output).toBe(stage(first, "changelog-writer:tasks").output);
  });
});
