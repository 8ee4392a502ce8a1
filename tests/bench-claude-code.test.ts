import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, sabuildJson } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";

/**
 * Claude Code itself as the benchmark's main agent (orchestrator.kind: claude-code), end to end:
 * the real `claude` binary of the pinned @anthropic-ai/claude-code (installed by sabuild into the
 * user cache on first use) runs headless in the task's container, which has no network; it
 * reaches a stand-in speaking Anthropic's Messages API and sabuild's MCP server only through
 * unix sockets bound in. The stand-in's policy writes the number, asks the runner subagent through
 * the MCP tool (or cats it, in the none arm), and writes result.txt, which the verifier checks.
 */

const MCP_TOOL = "mcp__sabuild__subagent_runner";

/** Claude Code's side requests (no tools) get a plain answer; the main loop is scripted by tool results. */
const MAIN = `export function policy(request) {
  const tools = (request.tools ?? []).map((t) => t.name);
  if (!tools.includes("Bash")) return { content: "ok" };
  const blocks = request.messages.flatMap((m) => (typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content));
  const task = blocks.filter((b) => b.type === "text").map((b) => b.text).join("\\n");
  const text = (b) => (typeof b.content === "string" ? b.content : (b.content ?? []).map((x) => x.text ?? "").join(""));
  const results = blocks.filter((b) => b.type === "tool_result").map(text);
  const n = /number (\\d+) from/.exec(task)?.[1] ?? "0";
  if (results.length === 0) return { tool_calls: [{ name: "Bash", arguments: { command: "echo " + n + " > note.txt; echo interfaces: $(ls /sys/class/net)" } }] };
  if (results.length === 1)
    return tools.includes("${MCP_TOOL}")
      ? { tool_calls: [{ name: "${MCP_TOOL}", arguments: { prompt: "What does note.txt say?" } }] }
      : { tool_calls: [{ name: "Bash", arguments: { command: "cat note.txt" } }] };
  if (results.length === 2) {
    const said = /(\\d+)/.exec(results[1])?.[1] ?? "0";
    return { tool_calls: [{ name: "Bash", arguments: { command: "echo " + said + " > result.txt" } }] };
  }
  return { content: "Done: result.txt holds the number." };
}
`;

/** The runner's teacher (the teacher arm's player): cats the note and answers inside its contract. */
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
  "      kind: claude-code",
  "      standin: main.mjs",
  "      model: scripted-main",
  "      pricing: { input_per_mtok: 10, output_per_mtok: 30 }",
  "      tools: [Bash, Write]",
  "      max_turns: 6",
  "    subagents: [runner]",
  "    arms: [none, teacher]",
  "    sandbox:",
  "      recipe: shell",
  "",
].join("\n");

type Built = { __code: number; stages: { id: string; status: string; items?: { run: number; reused: number } }[] };

interface Item {
  id: string;
  arm: string;
  resolved: boolean;
  delegations: number;
  terminal_calls: number;
  tool_calls_by_tool: Record<string, number>;
  main_calls: number;
  main_prompt_tokens: number;
  main_completion_tokens: number;
  subagent_tokens: number;
  answer_chars: number;
  cost_usd: number | null;
}

interface Trace {
  status: string;
  model: { name: string; base_url: string };
  cli: { kind: string; version: string; num_turns: number; total_cost_usd: number; tool_calls_by_tool: Record<string, number>; exit_code: number };
  usage: { prompt_tokens: number; completion_tokens: number; requests: number };
  messages: { role: string; content: string | null }[];
  delegations: { subagent: string; answer: string; trace: { model: { role: string } } }[];
}

function artifact(dir: string, node: string, path: string): string {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", node]);
  return readFileSync(art.files.find((f) => f.path === path)!.blob, "utf8");
}

describe("Claude Code as the orchestrator (real claude binary in a container without network, Messages-API stand-in)", () => {
  let dir: string;
  let first: Built;
  beforeAll(async () => {
    await ensureDocker();
    dir = makeProject({ "subagents.yaml": CONFIG, "main.mjs": MAIN, "sub.mjs": SUB, "train.jsonl": `${JSON.stringify({ prompt: "run ls" })}\n`, "bench.jsonl": `${task(7)}\n` });
    first = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
  }, 600_000);

  it("runs each arm's item through claude, delegating through sabuild's MCP tool, and verifies it", () => {
    expect(first.__code, JSON.stringify(first)).toBe(0);
    expect(first.stages.find((s) => s.id === "bench/notes:runs")).toMatchObject({ status: "built", items: { run: 2, reused: 0 } });
    const b = JSON.parse(artifact(dir, "bench/notes:bench", "bench.json")) as { items: Item[] };
    const none = b.items.find((i) => i.arm === "none")!;
    const teacher = b.items.find((i) => i.arm === "teacher")!;
    for (const i of [none, teacher]) {
      expect(i.resolved, i.id).toBe(true);
      // Four model requests of the main agent: three tool calls and the final answer.
      expect(i.main_calls, i.id).toBe(4);
      expect(i.main_prompt_tokens).toBeGreaterThan(0);
      expect(i.main_completion_tokens).toBeGreaterThan(0);
      expect(i.cost_usd).toBeGreaterThan(0);
    }
    expect(none).toMatchObject({ delegations: 0, terminal_calls: 3, tool_calls_by_tool: { Bash: 3 }, subagent_tokens: 0 });
    expect(teacher).toMatchObject({ delegations: 1, terminal_calls: 2, tool_calls_by_tool: { Bash: 2, [MCP_TOOL]: 1 } });
    expect(teacher.subagent_tokens).toBeGreaterThan(0);
    expect(teacher.answer_chars).toBe(1);
  });

  it("keeps Claude Code's own JSON result in the trace, and the figures bench.json holds come from it", () => {
    const b = JSON.parse(artifact(dir, "bench/notes:bench", "bench.json")) as { items: Item[] };
    const item = b.items.find((i) => i.arm === "teacher")!;
    const trace = JSON.parse(artifact(dir, "bench/notes:runs", `items/${item.id}/trace.json`)) as Trace;
    expect(trace.status).toBe("completed");
    expect(trace.model).toEqual({ name: "scripted-main", base_url: "standin:main.mjs", role: "orchestrator" });
    expect(trace.cli).toMatchObject({ kind: "claude-code", version: "2.1.332", num_turns: expect.any(Number), exit_code: 0 });
    expect(trace.cli.total_cost_usd).toBeGreaterThan(0);
    expect(trace.usage.prompt_tokens).toBe(item.main_prompt_tokens);
    // The subagent's turns stay inside its own trace: only its answer went back.
    expect(trace.delegations).toHaveLength(1);
    expect(trace.delegations[0]).toMatchObject({ subagent: "runner", answer: "7", trace: { model: { role: "teacher" } } });
    // Claude Code's Bash ran in the task's container, which had its loopback and nothing else.
    const first = trace.messages.find((m) => m.role === "tool")!;
    expect(first.content).toMatch(/^interfaces: lo\s*$/);
  });

  it("names Claude Code and the stand-in on the report", () => {
    const r = sabuildJson<{ ok: boolean }>(dir, ["report", "bench/notes"]);
    expect(r.__code, JSON.stringify(r)).toBe(0);
    const md = readFileSync(join(dir, "reports/bench-notes/summary.md"), "utf8");
    expect(md).toContain("The main agent ran in Claude Code 2.1.332");
    expect(md).toContain("The main agent (scripted-main) is a scripted stand-in (main.mjs)");
  });

  it("does nothing on a second build", () => {
    const again = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(again.__code).toBe(0);
    for (const s of again.stages) expect(s.status, s.id).toBe("up-to-date");
  });
});

/**
 * Any other CLI (orchestrator.kind: command), held to the contract of docs/benchmarks.md: a
 * shell command in the task's container that reads $SABUILD_PROMPT, reaches its model at
 * $SABUILD_MODEL_BASE_URL (the same socket proxy; here the OpenAI-compatible stand-in) and
 * prints its usage as one JSON line. This one asks the model once and writes the answer.
 */
const AGENT = [
  "const r = await fetch(process.env.SABUILD_MODEL_BASE_URL + '/chat/completions', { method: 'POST',",
  "  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.OPENAI_API_KEY },",
  "  body: JSON.stringify({ model: process.env.SABUILD_MODEL, messages: [{ role: 'user', content: process.env.SABUILD_PROMPT }] }) });",
  "const j = await r.json();",
  "(await import('node:fs')).writeFileSync('result.txt', j.choices[0].message.content + '\\n');",
  "console.log('wrote result.txt');",
  "console.log(JSON.stringify({ usage: { input_tokens: j.usage.prompt_tokens, output_tokens: j.usage.completion_tokens }, num_turns: 1, model_calls: 1, tool_calls: { Write: 1 }, result: 'done' }));",
].join(" ");

describe("a command as the orchestrator (kind: command)", () => {
  it("runs it in the container, reaching the model only through the socket, and reads its usage JSON", async () => {
    await ensureDocker();
    const config = CONFIG.replace("      kind: claude-code", `      kind: command\n      command: ${JSON.stringify(`/opt/sabuild/node --input-type=module -e "${AGENT}"`)}`)
      .replace("    arms: [none, teacher]", "    arms: [none]");
    const numberPolicy = `export function policy(request) { return { content: /number (\\d+)/.exec(request.messages.at(-1).content)?.[1] ?? "0" }; }\n`;
    const dir = makeProject({ "subagents.yaml": config, "main.mjs": numberPolicy, "sub.mjs": SUB, "train.jsonl": `${JSON.stringify({ prompt: "run ls" })}\n`, "bench.jsonl": `${task(7)}\n` });
    const built = sabuildJson<Built>(dir, ["build", "bench/notes:bench"]);
    expect(built.__code, JSON.stringify(built)).toBe(0);
    const b = JSON.parse(artifact(dir, "bench/notes:bench", "bench.json")) as { items: Item[] };
    expect(b.items).toHaveLength(1);
    expect(b.items[0]).toMatchObject({ arm: "none", resolved: true, main_calls: 1, tool_calls_by_tool: { Write: 1 }, terminal_calls: 0, delegations: 0 });
    expect(b.items[0]!.main_prompt_tokens).toBeGreaterThan(0);
    expect(b.items[0]!.cost_usd).toBeGreaterThan(0);
    const trace = JSON.parse(artifact(dir, "bench/notes:runs", `items/${b.items[0]!.id}/trace.json`)) as Trace;
    expect(trace.cli).toMatchObject({ kind: "command", exit_code: 0 });
    expect(trace.cli.version).toBeUndefined();
  }, 300_000);
});
