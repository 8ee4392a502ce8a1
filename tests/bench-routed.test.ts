import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, REPO, sabuildJson } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { tinyGguf } from "./support/tiny-gguf.js";

/**
 * The benchmark's routed arm: the offered subagent is played by its student (the tiny GGUF on a
 * real llama-server) and its teacher (a stand-in), chosen per delegation by the subagent's
 * route policy. The random student cannot keep the contract, so the cascade hands every
 * delegation to the teacher, whose answer resolves the task; the arm's items key on the policy.
 */

const MAIN = `export async function policy(request) {
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const results = request.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const n = /number (\\d+)/.exec(task)?.[1] ?? "0";
  if (results.length === 0) return { tool_calls: [{ name: "Write", arguments: { file_path: "/workspace/note.txt", content: n + "\\n" } }] };
  if (results.length === 1) return { tool_calls: [{ name: "Agent", arguments: { description: "read the note", prompt: "What does note.txt say?", subagent_type: "runner" } }] };
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

const CONFIG = (route: string) =>
  [
    "version: 1",
    "plugins: [gguf-export.mjs]",
    "subagents:",
    "  runner:",
    "    source:",
    "      inline:",
    "        description: Runs shell commands and reports what they print",
    "        prompt: You run commands in the workspace and report their output.",
    "        tools: [Bash, Read]",
    "    teacher: { standin: sub.mjs, model: scripted-sub }",
    "    sandbox: { recipe: shell }",
    "    traces: { max_turns: 2 }",
    "    eval: { max_tokens: 16 }",
    `    route: ${route}`,
    "benchmarks:",
    "  notes:",
    "    tasks: { from: bench.jsonl }",
    "    orchestrator: { standin: main.mjs, model: scripted-main, tools: [Bash, Write], max_turns: 6 }",
    "    subagents: [runner]",
    "    arms: [routed]",
    "    sandbox: { recipe: shell }",
    "",
  ].join("\n");

type Built = { __code: number; stages: { id: string; status: string; items?: { run: number; reused: number } }[] };

describe("the benchmark's routed arm (real llama-server student, stand-in teacher, real containers)", () => {
  let dir: string;
  let first: Built;
  beforeAll(async () => {
    await ensureDocker();
    const gguf = await tinyGguf();
    dir = makeProject({ "subagents.yaml": CONFIG("{ policy: cascade, checks: { contract: true } }"), "main.mjs": MAIN, "sub.mjs": SUB, "bench.jsonl": `${JSON.stringify({ id: "n7", prompt: "Put the number 7 from note.txt into result.txt", verify: { command: "grep -qx 7 result.txt" } })}\n` });
    copyFileSync(gguf, join(dir, "student.gguf"));
    copyFileSync(join(REPO, "tests/fixtures/plugins/gguf-export.mjs"), join(dir, "gguf-export.mjs"));
    first = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
  }, 600_000);

  it("escalates the student's broken delegation to the teacher, whose answer resolves the task", () => {
    expect(first.__code, JSON.stringify(first.stages)).toBe(0);
    const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "bench/notes:routed"]);
    const trace = JSON.parse(readFileSync(art.files.find((f) => f.path.endsWith("trace.json"))!.blob, "utf8")) as { arm: string; delegations: { trace: { model: { role: string } } }[] };
    expect(trace.arm).toBe("routed");
    expect(trace.delegations.map((d) => d.trace.model.role)).toEqual(["teacher"]);
    const bench = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "bench/notes:bench"]);
    const b = JSON.parse(readFileSync(bench.files.find((f) => f.path === "bench.json")!.blob, "utf8")) as { summary: { arm: string; resolved: number; items: number }[] };
    expect(b.summary).toEqual([expect.objectContaining({ arm: "routed", resolved: 1, items: 1 })]);
  });

  it("keys the routed arm's items on the route policy", () => {
    writeFileSync(join(dir, "subagents.yaml"), CONFIG("{ policy: cascade, checks: { contract: true, hard_checks: true } }"));
    const plan = sabuildJson<{ stages: { id: string; status: string; reasons: { type: string; path?: string }[] }[] }>(dir, ["plan", "bench/notes:routed"]);
    const routed = plan.stages.find((s) => s.id === "bench/notes:routed")!;
    expect(routed.status).toBe("will-run");
    expect(routed.reasons).toContainEqual(expect.objectContaining({ type: "param", path: "routes.runner.checks.hard_checks" }));
  });
});
