import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, sabuild, sabuildJson } from "./helpers.js";

// The learned router as a stage (<subagent>:router, after eval), the curve it writes, and
// `sabuild route curve|calibrate`. A plugin eval stage copies a fixture eval.json, so the
// router's real stage runs on known outcomes without models.

const EVAL_PLUGIN = `import { copyFileSync } from "node:fs";
import { join } from "node:path";
export default () => [{
  kind: "eval",
  version: "1",
  deps: [],
  inputs: () => ({ ok: true, value: { params: {}, files: ["eval-fixture.json"] } }),
  run: async (ctx) => copyFileSync(join(ctx.project.root, "eval-fixture.json"), join(ctx.outDir, "eval.json")),
}];
`;

const summary = (role: "student" | "teacher", rate: number, cost: number) => ({
  role,
  model: { name: role, base_url: "x", role },
  tasks: 8,
  success_rate: rate,
  failure_modes: {},
  statuses: {},
  turns_mean: 2,
  tool_calls_mean: 1,
  tokens: { prompt: 100, completion: 10, per_task: 110 },
  latency_ms: { mean: 1, p50: 1, p95: 1 },
  cost_per_task_usd: cost,
});

/** Renames succeed for the student, network debugging fails; the teacher does both. */
function evalFixture(extra: { id: string; prompt: string; student: boolean }[] = []): string {
  const tasks = [
    { id: "r1", prompt: "rename the variable count in parser.py", student: true },
    { id: "r2", prompt: "rename the function load in config.py", student: true },
    { id: "r3", prompt: "rename the class Reader in io.py", student: true },
    { id: "r4", prompt: "rename the method close in pool.py", student: true },
    { id: "n1", prompt: "debug the flaky network retry under load", student: false },
    { id: "n2", prompt: "debug the intermittent network timeout in the client", student: false },
    { id: "n3", prompt: "debug the race in the network pool", student: false },
    { id: "n4", prompt: "debug the network socket leak", student: false },
    ...extra,
  ];
  const res = (success: boolean) => ({ status: success ? "completed" : "contract_violation", success, trace: "t.json" });
  return JSON.stringify({
    version: 1,
    subagent: "alpha",
    models: { student: summary("student", 0.5, 0), teacher: summary("teacher", 1, 0.01) },
    ratios: {},
    targets: [],
    gate: { enabled: false, passed: true },
    tasks: tasks.map((t) => ({ id: t.id, prompt: t.prompt, results: { student: res(t.student), teacher: res(true) } })),
  });
}

const CONFIG = `version: 1
plugins: [eval-plugin.mjs]
# routing is tuned by route calibrate
subagents:
  alpha:
    source:
      inline:
        description: Answers questions about the repository
        prompt: You answer questions.
    route:
      policy: learned # trained on eval's outcomes
`;

type Stages = { stages: { id: string; status: string; reasons?: { type: string }[] }[] };

describe("the router stage and sabuild route", () => {
  let dir: string;
  beforeAll(() => {
    dir = makeProject({ "subagents.yaml": CONFIG, "eval-plugin.mjs": EVAL_PLUGIN, "eval-fixture.json": evalFixture() });
    const built = sabuildJson<Stages>(dir, ["build", "alpha:router"]);
    expect(built.__code, JSON.stringify(built)).toBe(0);
  }, 120_000);

  it("trains the router on eval's outcomes and writes its curve with APGR and CPT", () => {
    const curve = sabuildJson<{ tasks: number; apgr: number; cpt50: number; cpt80: number; points: { threshold: number; escalated: number; success: number }[]; student: { success: number }; teacher: { success: number } }>(dir, ["route", "curve", "alpha"]);
    expect(curve.__code).toBe(0);
    expect(curve.tasks).toBe(8);
    expect(curve.student.success).toBe(0.5);
    expect(curve.teacher.success).toBe(1);
    expect(curve.points[0]).toMatchObject({ threshold: 0, escalated: 0, success: 0.5 });
    // Leave-one-out, the router still tells renames from network bugs: most of the gap back at half the calls.
    expect(curve.apgr).toBeGreaterThan(0.7);
    expect(curve.cpt50).toBeLessThan(50);
    const text = sabuild(dir, ["route", "curve", "alpha"]);
    expect(text.stdout).toMatch(/APGR 0\.\d{3} {2}CPT\(50%\) [\d.]+% {2}CPT\(80%\) [\d.]+%/);
  });

  it("calibrate writes route.threshold into subagents.yaml with its comments kept, and the router is not rebuilt for it", () => {
    const r = sabuildJson<{ threshold: number; escalated: number; success: number }>(dir, ["route", "calibrate", "alpha", "--max-escalation", "0.5"]);
    expect(r.__code).toBe(0);
    expect(r.escalated).toBeLessThanOrEqual(0.5);
    expect(r.success).toBeGreaterThanOrEqual(0.9);
    const text = readFileSync(join(dir, "subagents.yaml"), "utf8");
    expect(text).toContain("# routing is tuned by route calibrate");
    expect(text).toContain("policy: learned # trained on eval's outcomes");
    expect(text).toContain(`threshold: ${r.threshold}`);
    // The threshold is read when serving: not an input of the router.
    const plan = sabuildJson<Stages>(dir, ["plan", "alpha:router"]);
    expect(plan.stages.find((s) => s.id === "alpha:router")!.status).toBe("up-to-date");

    const strict = sabuild(dir, ["route", "calibrate", "alpha", "--min-success", "1.01"]);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toMatch(/--min-success: a fraction between 0 and 1/);
  });

  it("is keyed on eval's output: a new outcome rebuilds the router", () => {
    writeFileSync(join(dir, "eval-fixture.json"), evalFixture([{ id: "r5", prompt: "rename the module utils", student: true }]));
    const plan = sabuildJson<Stages>(dir, ["plan", "alpha:router"]);
    const router = plan.stages.find((s) => s.id === "alpha:router")!;
    expect(router.status).toBe("will-run");
  });

  it("says what to build when there is no router yet", () => {
    const fresh = makeProject({ "subagents.yaml": CONFIG, "eval-plugin.mjs": EVAL_PLUGIN, "eval-fixture.json": evalFixture() });
    const r = sabuild(fresh, ["route", "calibrate", "alpha", "--max-escalation", "0.2"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/alpha:router has no output for its current inputs: run `sabuild build alpha:router`/);
  });
});
