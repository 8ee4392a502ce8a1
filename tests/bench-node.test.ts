import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, sabuild, sabuildJson } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { projectLabels } from "../src/sandbox/cleanup.js";

/**
 * The benchmark as a project-level node (bench/<name>:tasks, :runs, :bench): built by
 * `sabuild build` and `sabuild bench`, in real containers with stand-in models over HTTP. The
 * main agent writes the task's number to note.txt, asks the runner subagent (or cat, in the
 * none arm) what it says, and writes it to result.txt, which the task's verifier checks.
 */

const MAIN = `export async function policy(request) {
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const results = request.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const offered = (request.tools ?? []).some((t) => t.function.name === "Agent");
  const n = /number (\\d+)/.exec(task)?.[1] ?? "0";
  if (results.length === 0) return { tool_calls: [{ name: "Write", arguments: { file_path: "/workspace/note.txt", content: n + "\\n" } }] };
  if (results.length === 1)
    return offered
      ? { tool_calls: [{ name: "Agent", arguments: { description: "read the note", prompt: "What does note.txt say?", subagent_type: "runner" } }] }
      : { tool_calls: [{ name: "Bash", arguments: { command: "cat note.txt" } }] };
  if (results.length === 2) {
    // The wrong task: a subagent that answers wrongly makes the item fail its verifier.
    const said = /(\\d+)/.exec(results[1])?.[1] ?? "0";
    return { tool_calls: [{ name: "Bash", arguments: { command: "echo " + said + " > result.txt" } }] };
  }
  return { content: "Done: result.txt holds the number." };
}
`;

/** The runner's teacher: cats the note and answers inside its contract. */
const SUB = `export async function policy(request) {
  const results = request.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length === 0) return { tool_calls: [{ name: "Bash", arguments: { command: "cat note.txt" } }] };
  return { content: "Read it.\\n<final_answer>" + results[0].trim() + "</final_answer>" };
}
`;

const task = (n: number) => JSON.stringify({ id: `n${n}`, prompt: `Put the number ${n} from note.txt into result.txt`, verify: { command: `grep -qx ${n} result.txt` } });

const CONFIG = [
  "version: 1",
  "subagents:",
  "  runner:",
  "    source:",
  "      inline:",
  "        description: Runs shell commands and reports what they print",
  "        prompt: You run commands in the workspace and report their output.",
  "        tools: [Bash, Read]",
  "    teacher:",
  "      standin: sub.mjs",
  "      model: scripted-sub",
  "      pricing: { input_per_mtok: 2, output_per_mtok: 8 }",
  "    sandbox:",
  "      recipe: shell",
  "    tasks:",
  "      from: train.jsonl",
  "benchmarks:",
  "  notes:",
  "    tasks:",
  "      from: bench.jsonl",
  "    orchestrator:",
  "      standin: main.mjs",
  "      model: scripted-main",
  "      pricing: { input_per_mtok: 10, output_per_mtok: 30 }",
  "      tools: [Bash, Write]",
  "      max_turns: 6",
  "    subagents: [runner]",
  "    arms: [none, teacher]",
  "    sandbox:",
  "      recipe: shell",
  "    concurrency: 2",
  "",
].join("\n");

type Built = { __code: number; stages: { id: string; status: string; items?: { run: number; reused: number } }[] };

interface BenchJson {
  benchmark: string;
  tasks: number;
  summary: { arm: string; items: number; resolved: number; metrics: Record<string, { mean: number | null }> }[];
  comparisons: Record<string, { arm: string; reference: string; tasks: { paired: number } }[]>;
  items: { id: string; task: string; arm: string; resolved: boolean; delegations: number; terminal_calls: number; cost_usd: number | null; subagent_tokens: number; answer_tokens: number; answer_chars: number }[];
}

function benchJson(dir: string): BenchJson {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "bench/notes:bench"]);
  const file = art.files.find((f) => f.path === "bench.json")!;
  return JSON.parse(readFileSync(file.blob, "utf8")) as BenchJson;
}

const stage = (b: Built, id: string) => b.stages.find((s) => s.id === id);

describe("the benchmark node (real containers, stand-in models)", () => {
  let dir: string;
  let first: Built;
  beforeAll(async () => {
    await ensureDocker();
    dir = makeProject({ "subagents.yaml": CONFIG, "main.mjs": MAIN, "sub.mjs": SUB, "train.jsonl": `${JSON.stringify({ prompt: "run ls" })}\n`, "bench.jsonl": `${task(7)}\n${task(11)}\n` });
    first = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
  }, 300_000);

  it("runs every task in every arm, each verified, and writes per-item, per-arm and paired figures", () => {
    expect(first.__code, JSON.stringify(first.stages)).toBe(0);
    expect(stage(first, "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 4, reused: 0 } });
    // Only what the arms need: the runner's import, never its traces, training or export.
    expect(first.stages.map((s) => s.id).sort()).toEqual(["bench/notes:bench", "bench/notes:runs", "bench/notes:tasks", "runner:import"]);
    const b = benchJson(dir);
    expect(b.tasks).toBe(2);
    expect(b.items.map((i) => i.id).sort()).toEqual(["n11.none.s0", "n11.teacher.s0", "n7.none.s0", "n7.teacher.s0"]);
    for (const i of b.items) expect(i.resolved, i.id).toBe(true);
    const none = b.items.filter((i) => i.arm === "none");
    const teacher = b.items.filter((i) => i.arm === "teacher");
    for (const i of none) expect(i).toMatchObject({ delegations: 0, terminal_calls: 2, subagent_tokens: 0, answer_tokens: 0 });
    for (const i of teacher) {
      expect(i).toMatchObject({ delegations: 1, terminal_calls: 1 });
      // What the delegation handed back, in tokens as well as characters.
      expect(i.answer_tokens).toBeGreaterThan(0);
      expect(i.answer_tokens).toBeLessThanOrEqual(i.answer_chars);
      expect(i.subagent_tokens).toBeGreaterThan(0);
      // Both models are priced: the teacher arm pays for the subagent too.
      expect(i.cost_usd).toBeGreaterThan(0);
    }
    expect(b.summary.map((s) => [s.arm, s.items, s.resolved])).toEqual([
      ["none", 2, 2],
      ["teacher", 2, 2],
    ]);
    expect(b.comparisons.vs_none!.map((c) => [c.arm, c.reference, c.tasks.paired])).toEqual([["teacher", "none", 2]]);
    // Items hand their containers' removal on rather than wait for it; the node still waits for
    // every removal before it ends, so none is left once the build returns.
    const left = execFileSync("docker", ["ps", "-aq", "--filter", `label=sabuild.project=${projectLabels(dir)["sabuild.project"]}`], { encoding: "utf8" });
    expect(left.trim()).toBe("");
  });

  it("`sabuild report bench/<name>` writes the benchmark's page and summary, naming both arms", () => {
    const r = sabuildJson<{ ok: boolean; reports: unknown[]; benchmarks: { benchmark: string; html: string; markdown: string }[] }>(dir, ["report", "bench/notes"]);
    expect(r.__code, JSON.stringify(r)).toBe(0);
    // Only the benchmark's page: naming it builds no subagent's report.
    expect(r.reports).toEqual([]);
    expect(r.benchmarks).toEqual([{ benchmark: "notes", html: join(dir, "reports/bench-notes/index.html"), markdown: join(dir, "reports/bench-notes/summary.md") }]);
    const html = readFileSync(join(dir, "reports/bench-notes/index.html"), "utf8");
    expect(html).toContain('<tr data-arm="none">');
    expect(html).toContain('<tr data-arm="teacher">');
    expect(html).toContain('details class="delegation" data-subagent="runner"');
    expect(html).toContain("The main agent (scripted-main) is a scripted stand-in (main.mjs)");
    const md = readFileSync(join(dir, "reports/bench-notes/summary.md"), "utf8");
    expect(md).toMatch(/^\| none \| 2\/2 /m);
    expect(md).toMatch(/^\| teacher \| 2\/2 /m);
  });

  it("does nothing on a second build, and `sabuild bench` reads the same result", () => {
    const again = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(again.__code).toBe(0);
    for (const s of again.stages) expect(s.status, s.id).toBe("up-to-date");
    const plan = sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"]);
    const benchNodes = plan.stages.filter((x) => x.id.startsWith("bench/"));
    expect(benchNodes.map((n) => n.id).sort()).toEqual(["bench/notes:bench", "bench/notes:report", "bench/notes:runs", "bench/notes:tasks"]);
    for (const n of benchNodes) expect(n.status, n.id).toBe("up-to-date");
    const shown = sabuild(dir, ["bench", "notes"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^\s+teacher\s+2\/2 \(100%\)/m);
    expect(shown.stdout).toMatch(/teacher vs none \(2 paired tasks/);
  });

  it("reruns only the teacher arm's items when the subagent's teacher changes, and only a new task's items when one is added", () => {
    writeFileSync(join(dir, "sub.mjs"), `${SUB}// v2\n`);
    const teacher = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(teacher.__code, JSON.stringify(teacher.stages)).toBe(0);
    expect(stage(teacher, "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 2, reused: 2 } });
    expect(stage(teacher, "bench/notes:tasks")!.status).toBe("up-to-date");

    // The serving cost prices the figures: bench.json is recomputed, no item runs.
    writeFileSync(join(dir, "subagents.yaml"), CONFIG.replace("    concurrency: 2", "    concurrency: 2\n    serving: { usd_per_hour: 2 }"));
    const priced = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(stage(priced, "bench/notes:runs")!.status).toBe("up-to-date");
    expect(stage(priced, "bench/notes:bench")!.status).toBe("built");

    appendFileSync(join(dir, "bench.jsonl"), `${task(5)}\n`);
    const added = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(added.__code, JSON.stringify(added.stages)).toBe(0);
    expect(stage(added, "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 2, reused: 4 } });
    expect(benchJson(dir).tasks).toBe(3);

    // A second sample runs the new sample's items only (the arms and samples key the item list, not each item).
    writeFileSync(join(dir, "subagents.yaml"), CONFIG.replace("    concurrency: 2", "    concurrency: 2\n    serving: { usd_per_hour: 2 }\n    samples: 2"));
    const sampled = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(sampled.__code, JSON.stringify(sampled.stages)).toBe(0);
    expect(stage(sampled, "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 6, reused: 6 } });
    expect(benchJson(dir).items).toHaveLength(12);

    // A new model for the subagent's teacher reruns the teacher arm's items only (it is in the
    // node's key and in those items' input, not in the none arm's).
    writeFileSync(join(dir, "subagents.yaml"), CONFIG.replace("    concurrency: 2", "    concurrency: 2\n    serving: { usd_per_hour: 2 }\n    samples: 2").replace("model: scripted-sub", "model: scripted-sub-2"));
    const remodelled = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(remodelled.__code, JSON.stringify(remodelled.stages)).toBe(0);
    expect(stage(remodelled, "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 6, reused: 6 } });
    expect(benchJson(dir).items.filter((i) => i.arm === "teacher")).toHaveLength(6);
  }, 300_000); // five builds, each running benchmark items in containers

  it("names the file and line of a bad task", () => {
    appendFileSync(join(dir, "bench.jsonl"), `{"id": "n7", "prompt": "again"}\n`);
    const r = sabuild(dir, ["build", "bench/notes:bench"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/bench\.jsonl:4.*task id "n7" is already used at bench\.jsonl:1/s);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /);
  });
});

type Planned = { __code: number; stages: { id: string; status: string; key?: string; reasons: { type: string; path?: string; name?: string }[] }[] };

describe("the benchmark nodes' keys", () => {
  // Each declared input, changed on its own, changes the key of the node that reads it, and plan names it.
  const CASES: { change: string; edit: (config: string, dir: string) => string; node: string; reason: { type: string; path?: string } }[] = [
    { change: "the orchestrator's model", edit: (c) => c.replace("model: scripted-main", "model: scripted-main-2"), node: "runs", reason: { type: "param", path: "orchestrator.model" } },
    { change: "the orchestrator's tools", edit: (c) => c.replace("tools: [Bash, Write]", "tools: [Bash]"), node: "runs", reason: { type: "param", path: "orchestrator.tools" } },
    { change: "the orchestrator's turn cap", edit: (c) => c.replace("max_turns: 6", "max_turns: 7"), node: "runs", reason: { type: "param", path: "orchestrator.max_turns" } },
    { change: "the orchestrator's instructions", edit: (c) => c.replace("max_turns: 6", "max_turns: 6\n      instructions: Be brief."), node: "runs", reason: { type: "param", path: "orchestrator.instructions" } },
    { change: "the benchmark's recipe", edit: (c) => c.replace("  notes:\n    tasks:", "  notes:\n    tasks:").replace("    sandbox:\n      recipe: shell\n    concurrency", "    sandbox:\n      recipe: python-repo\n    concurrency"), node: "runs", reason: { type: "param", path: "sandbox.recipe" } },
    { change: "the subagent's turn cap", edit: (c) => c.replace("      from: train.jsonl", "      from: train.jsonl\n    traces:\n      max_turns: 4"), node: "runs", reason: { type: "param", path: "loops.runner.max_turns" } },
    { change: "who drives the main agent (Claude Code)", edit: (c) => c.replace("model: scripted-main", "model: scripted-main\n      kind: claude-code"), node: "runs", reason: { type: "param", path: "orchestrator.kind" } },
    { change: "the orchestrator's stand-in policy", edit: (c, d) => (writeFileSync(join(d, "main.mjs"), `${MAIN}// v2\n`), c), node: "runs", reason: { type: "file", path: "main.mjs" } },
    { change: "the subagent's teacher model", edit: (c) => c.replace("model: scripted-sub", "model: scripted-sub-2"), node: "runs", reason: { type: "param", path: "teachers.runner.model" } },
    { change: "the subagent's stand-in policy", edit: (c, d) => (writeFileSync(join(d, "sub.mjs"), `${SUB}// v2\n`), c), node: "runs", reason: { type: "file", path: "sub.mjs" } },
    { change: "a task", edit: (c, d) => (writeFileSync(join(d, "bench.jsonl"), `${task(8)}\n`), c), node: "tasks", reason: { type: "file", path: "bench.jsonl" } },
    { change: "the task format", edit: (c) => c.replace("      from: bench.jsonl", "      from: bench.jsonl\n      format: jsonl"), node: "tasks", reason: { type: "param", path: "format" } },
  ];
  let base: string;
  beforeAll(() => {
    base = makeProject({ "subagents.yaml": CONFIG, "main.mjs": MAIN, "sub.mjs": SUB, "train.jsonl": `${JSON.stringify({ prompt: "run ls" })}\n`, "bench.jsonl": `${task(7)}\n` });
    // The runs node's key needs its upstreams' outputs: the tasks node and the runner's import (neither needs Docker).
    const built = sabuildJson<Built>(base, ["build", "bench/notes:tasks", "runner:import"]);
    expect(built.__code, JSON.stringify(built.stages)).toBe(0);
  });

  it("plan estimates the runs' spend: the orchestrator in every arm, the teacher's delegations in its arm", () => {
    type WithEstimate = { stages: { id: string; estimate?: { calls: number; usd: number; priced: boolean } }[] };
    const runs = sabuildJson<WithEstimate>(base, ["plan"]).stages.find((s) => s.id === "bench/notes:runs")!;
    // One task x two arms: 2 orchestrator rollouts of 3 calls (half of max_turns 6), plus the teacher arm's delegation.
    expect(runs.estimate!.calls).toBeGreaterThan(6);
    expect(runs.estimate!.priced).toBe(true);
    expect(runs.estimate!.usd).toBeGreaterThan(0);
  });

  it("Claude Code's version (a new release reruns every item)", () => {
    const dir = makeProject({});
    cpSync(base, dir, { recursive: true });
    const runsKey = () => sabuildJson<Planned>(dir, ["plan"]).stages.find((s) => s.id === "bench/notes:runs")!.key;
    const claudeCode = CONFIG.replace("model: scripted-main", "model: scripted-main\n      kind: claude-code");
    writeFileSync(join(dir, "subagents.yaml"), claudeCode);
    const pinned = runsKey();
    writeFileSync(join(dir, "subagents.yaml"), claudeCode.replace("kind: claude-code", "kind: claude-code\n      claude_code_version: 2.1.100"));
    const other = runsKey();
    expect(pinned).toBeDefined();
    expect(other).toBeDefined();
    expect(other).not.toBe(pinned);
  });

  it.each(CASES.map((c) => [c.change, c] as const))("%s", (_, c) => {
    const dir = makeProject({});
    cpSync(base, dir, { recursive: true });
    const keyOf = (p: Planned) => p.stages.find((s) => s.id === `bench/notes:${c.node}`)!;
    const before = keyOf(sabuildJson<Planned>(dir, ["plan"]));
    expect(before.key).toBeDefined();
    writeFileSync(join(dir, "subagents.yaml"), c.edit(readFileSync(join(dir, "subagents.yaml"), "utf8"), dir));
    const after = keyOf(sabuildJson<Planned>(dir, ["plan"]));
    expect(after.key).toBeDefined();
    expect(after.key).not.toBe(before.key);
    // Plan names the change against the lock, where the node was built (the runs node never was: it needs Docker).
    if (before.status === "up-to-date") expect(after.reasons).toEqual(expect.arrayContaining([expect.objectContaining(c.reason)]));
  });
});
