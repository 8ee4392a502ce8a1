import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, REPO, sabuildJson } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { tinyGguf } from "./support/tiny-gguf.js";

/**
 * The learned router learns from a benchmark's delegations (issue 14): the student arm's
 * delegations to the subagent are outcomes (the random tiny student on a real llama-server
 * cannot keep the contract, and the task then fails its verifier), the student, teacher and none
 * arms give the curve its main-agent tokens, and the routed arm (which reads the router) is a
 * node of its own, so the graph has no cycle. Eval is a plugin copying a fixture eval.json; the
 * benchmark runs in real containers with stand-in main agent and teacher.
 */

const MAIN = `export async function policy(request) {
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const results = request.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const offered = (request.tools ?? []).some((t) => t.function.name === "Agent");
  const n = /number (\\d+)/.exec(task)?.[1] ?? "0";
  if (results.length === 0) return { tool_calls: [{ name: "Write", arguments: { file_path: "/workspace/note.txt", content: n + "\\n" } }] };
  if (results.length === 1)
    return offered
      ? { tool_calls: [{ name: "Agent", arguments: { description: "read the note", prompt: "What number does note.txt hold for task " + n + "?", subagent_type: "runner" } }] }
      : { tool_calls: [{ name: "Bash", arguments: { command: "cat note.txt" } }] };
  if (results.length === 2) {
    const said = /(\\d+)/.exec(results[1])?.[1] ?? "0";
    return { tool_calls: [{ name: "Bash", arguments: { command: "echo " + said + " > result.txt" } }] };
  }
  return { content: "Done." };
}
`;

const SUB = `export async function policy(request) {
  const results = request.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length === 0) return { tool_calls: [{ name: "Bash", arguments: { command: "cat note.txt" } }] };
  return { content: "<final_answer>" + results[0].trim() + "</final_answer>" };
}
`;

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
  tasks: 2,
  success_rate: rate,
  failure_modes: {},
  statuses: {},
  turns_mean: 2,
  tool_calls_mean: 1,
  tokens: { prompt: 100, completion: 10, per_task: 110 },
  latency_ms: { mean: 1, p50: 1, p95: 1 },
  cost_per_task_usd: cost,
});

const EVAL = JSON.stringify({
  version: 1,
  subagent: "runner",
  models: { student: summary("student", 0.5, 0), teacher: summary("teacher", 1, 0.01) },
  ratios: {},
  targets: [],
  gate: { enabled: false, passed: true },
  tasks: [
    { id: "e1", prompt: "list the files in the workspace", results: { student: { status: "completed", success: true, trace: "t.json" }, teacher: { status: "completed", success: true, trace: "t.json" } } },
    { id: "e2", prompt: "explain the failing build log", results: { student: { status: "contract_violation", success: false, trace: "t.json" }, teacher: { status: "completed", success: true, trace: "t.json" } } },
  ],
});

const task = (n: number) => JSON.stringify({ id: `n${n}`, prompt: `Put the number ${n} from note.txt into result.txt`, verify: { command: `grep -qx ${n} result.txt` } });

const CONFIG = (learn: boolean) =>
  [
    "version: 1",
    "plugins: [gguf-export.mjs, eval-plugin.mjs]",
    "subagents:",
    "  runner:",
    "    source:",
    "      inline:",
    "        description: Runs shell commands and reports what they print",
    "        prompt: You run commands in the workspace and report their output.",
    "        tools: [Bash, Read]",
    "    teacher: { standin: sub.mjs, model: scripted-sub, pricing: { input_per_mtok: 2, output_per_mtok: 8 } }",
    "    sandbox: { recipe: shell }",
    "    traces: { max_turns: 2 }",
    "    eval: { max_tokens: 16 }",
    `    route: { policy: learned, threshold: 0.5${learn ? "" : ", learn_from_benchmarks: false"} }`,
    "benchmarks:",
    "  notes:",
    "    tasks: { from: bench.jsonl }",
    "    orchestrator: { standin: main.mjs, model: scripted-main, pricing: { input_per_mtok: 10, output_per_mtok: 30 }, tools: [Bash, Write], max_turns: 6 }",
    "    subagents: [runner]",
    "    arms: [none, teacher, student, routed]",
    "    sandbox: { recipe: shell }",
    "",
  ].join("\n");

type Stage = { id: string; status: string; items?: { run: number; reused: number }; reasons?: { type: string; stage?: string; path?: string }[] };
type Built = { __code: number; stages: Stage[] };

interface RouterJson {
  outcomes: { id: string; text: string; success: boolean; source: string }[];
}
interface CurveJson {
  points: { threshold: number; escalated: number; main_agent_tokens: number | null }[];
  main_agent_tokens_source: { benchmarks: string[]; tasks: number; student: number; teacher: number; none: number | null } | null;
  main_agent_tokens_missing?: string;
}
interface BenchJson {
  summary: { arm: string; items: number; metrics: Record<string, { mean: number | null }> }[];
}

function artifact<T>(dir: string, node: string, path: string): T {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", node]);
  const f = art.files.find((x) => x.path === path);
  if (!f) throw new Error(`${node} has no ${path}: ${art.files.map((x) => x.path).join(", ")}`);
  return JSON.parse(readFileSync(f.blob, "utf8")) as T;
}

const stage = (b: { stages: Stage[] }, id: string) => b.stages.find((s) => s.id === id);

describe("the router learns from a benchmark's delegations (real llama-server student, real containers)", () => {
  let dir: string;
  let first: Built;
  beforeAll(async () => {
    await ensureDocker();
    const gguf = await tinyGguf();
    dir = makeProject({ "subagents.yaml": CONFIG(true), "main.mjs": MAIN, "sub.mjs": SUB, "eval-plugin.mjs": EVAL_PLUGIN, "eval-fixture.json": EVAL, "bench.jsonl": `${task(7)}\n` });
    copyFileSync(gguf, join(dir, "student.gguf"));
    copyFileSync(join(REPO, "tests/fixtures/plugins/gguf-export.mjs"), join(dir, "gguf-export.mjs"));
    first = sabuildJson<Built>(dir, ["build", "runner:router"]);
  }, 600_000);

  it("building the router runs the benchmark's arms but routed, and not the routed arm that reads the router", () => {
    expect(first.__code, JSON.stringify(first.stages)).toBe(0);
    expect(stage(first, "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 3, reused: 0 } });
    expect(stage(first, "bench/notes:routed")).toBeUndefined();
    expect(stage(first, "runner:router")!.status).toBe("built");
  });

  it("trains on eval's outcomes and the student arm's delegations (prompt as text, the task's verdict as outcome)", () => {
    const r = artifact<RouterJson>(dir, "runner:router", "router.json");
    expect(r.outcomes.filter((o) => o.source === "eval").map((o) => o.id)).toEqual(["e1", "e2"]);
    const bench = r.outcomes.filter((o) => o.source === "bench");
    // One delegation in the student arm; the teacher and none arms give none.
    expect(bench).toEqual([{ id: "bench/notes/n7.student.s0/0", text: "What number does note.txt hold for task 7?", success: false, source: "bench" }]);
    // The student's run did not serve: its answer did not resolve the task.
    const bj = artifact<BenchJson>(dir, "bench/notes:runs", "items/n7.student.s0/trace.json") as unknown as { verification: { passed: boolean } };
    expect(bj.verification.passed).toBe(false);
  });

  it("fills the curve's main-agent tokens from the student and teacher arms, paired by task", () => {
    const c = artifact<CurveJson>(dir, "runner:router", "curve.json");
    const s = c.main_agent_tokens_source!;
    expect(s).toMatchObject({ benchmarks: ["notes"], tasks: 1 });
    const trace = (arm: string) => artifact<{ usage: { prompt_tokens: number; completion_tokens: number } }>(dir, "bench/notes:runs", `items/n7.${arm}.s0/trace.json`).usage;
    const tokens = (arm: string) => trace(arm).prompt_tokens + trace(arm).completion_tokens;
    expect(s.student).toBe(tokens("student"));
    expect(s.teacher).toBe(tokens("teacher"));
    expect(s.none).toBe(tokens("none"));
    expect(s.student).toBeGreaterThan(0);
    for (const p of c.points) expect(p.main_agent_tokens).toBeCloseTo((1 - p.escalated) * s.student + p.escalated * s.teacher, 6);
    expect(c.main_agent_tokens_missing).toBeUndefined();
  });

  it("builds the routed arm after the router, and the summary and report read both runs nodes", () => {
    const built = sabuildJson<Built>(dir, ["build", "bench/notes:report"]);
    expect(built.__code, JSON.stringify(built.stages)).toBe(0);
    expect(stage(built, "bench/notes:routed")).toMatchObject({ status: "built", items: { run: 1, reused: 0 } });
    expect(stage(built, "bench/notes:runs")!.status).toBe("up-to-date");
    expect(stage(built, "runner:router")!.status).toBe("up-to-date");
    const b = artifact<BenchJson>(dir, "bench/notes:bench", "bench.json");
    expect(b.summary.map((a) => [a.arm, a.items]).sort()).toEqual([["none", 1], ["routed", 1], ["student", 1], ["teacher", 1]]);
  });

  it("a new benchmark result reruns the router (upstream bench/notes:runs), and it learns the new delegation", () => {
    writeFileSync(join(dir, "bench.jsonl"), `${task(7)}\n${task(11)}\n`);
    const plan = sabuildJson<{ stages: Stage[] }>(dir, ["plan", "runner:router"]);
    expect(stage(plan, "bench/notes:runs")!.status).toBe("will-run");
    const built = sabuildJson<Built>(dir, ["build", "runner:router"]);
    expect(built.__code, JSON.stringify(built.stages)).toBe(0);
    expect(stage(built, "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 3, reused: 3 } });
    expect(stage(built, "runner:router")!.status).toBe("built");
    const r = artifact<RouterJson>(dir, "runner:router", "router.json");
    expect(r.outcomes.filter((o) => o.source === "bench").map((o) => o.text)).toEqual(["What number does note.txt hold for task 11?", "What number does note.txt hold for task 7?"]);
  });

  it("route.learn_from_benchmarks: false takes the benchmark out of the router's upstreams, and the curve says why it has no tokens", () => {
    writeFileSync(join(dir, "subagents.yaml"), CONFIG(false));
    const plan = sabuildJson<{ stages: Stage[] }>(dir, ["plan", "runner:router"]);
    expect(plan.stages.map((s) => s.id)).not.toContain("bench/notes:runs");
    const router = stage(plan, "runner:router")!;
    expect(router.status).toBe("will-run");
    expect(router.reasons).toContainEqual(expect.objectContaining({ type: "upstream", stage: "bench/notes" }));
    const built = sabuildJson<Built>(dir, ["build", "runner:router"]);
    expect(built.__code, JSON.stringify(built.stages)).toBe(0);
    const c = artifact<CurveJson>(dir, "runner:router", "curve.json");
    expect(c.main_agent_tokens_source).toBeNull();
    expect(c.main_agent_tokens_missing).toBe("route.learn_from_benchmarks is off for runner: benchmark results are not read");
    expect(c.points.every((p) => p.main_agent_tokens === null)).toBe(true);
    expect(artifact<RouterJson>(dir, "runner:router", "router.json").outcomes.every((o) => o.source === "eval")).toBe(true);
  });

  it("a router left out past until reads no benchmark: building the subagent does not run one", () => {
    writeFileSync(join(dir, "subagents.yaml"), CONFIG(true).replace("    traces: { max_turns: 2 }", "    until: eval\n    traces: { max_turns: 2 }"));
    const plan = sabuildJson<{ stages: Stage[] }>(dir, ["plan", "runner"]);
    expect(plan.__code).toBe(0);
    expect(stage(plan, "runner:router")!.status).toBe("unavailable");
    expect(plan.stages.map((s) => s.id).filter((id) => id.startsWith("bench/"))).toEqual([]);
  });
});
