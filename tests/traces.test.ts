import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Trace } from "../src/traces/types.js";
import { checkContract } from "../src/traces/contract.js";
import { exited, makeProject, REPO, sabuild, sabuildJson, spawnSabuild, tempDir, waitFor } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";

function project(opts: { tasks: string[]; extra?: string[] }): string {
  const dir = makeProject({
    "subagents.yaml": [
      "version: 1",
      "subagents:",
      "  runner:",
      "    source:",
      "      inline:",
      "        description: Runs shell commands and reports what they print",
      "        prompt: You run commands in the workspace and report their output.",
      "        tools: [Bash, Read]",
      "    teacher:",
      "      standin: policy.mjs",
      "      model: scripted",
      "      pricing: { input_per_mtok: 1, output_per_mtok: 1 }",
      "    sandbox:",
      "      recipe: shell",
      "    tasks:",
      "      from: tasks.jsonl",
      "      holdout: 0",
      "      count: 1",
      "    traces:",
      "      max_turns: 3",
      ...(opts.extra ?? []),
      "",
    ].join("\n"),
    "tasks.jsonl": opts.tasks.map((p, i) => JSON.stringify({ id: `t${i + 1}`, prompt: p })).join("\n") + "\n",
  });
  copyFileSync(join(REPO, "tests/fixtures/standin/rollout-policy.mjs"), join(dir, "policy.mjs"));
  return dir;
}

function traces(dir: string): Record<string, Trace> {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "runner:traces"]);
  const out: Record<string, Trace> = {};
  for (const f of art.files) {
    const m = /^items\/([^/]+)\/trace\.json$/.exec(f.path);
    if (m) out[m[1]!] = JSON.parse(readFileSync(f.blob, "utf8")) as Trace;
  }
  return out;
}

/** Containers of this test project that are still there (running or not). */
function leftoverContainers(dir: string): string[] {
  const label = `sabuild.project=${createHash("sha256").update(realpathSync(dir)).digest("hex").slice(0, 12)}`;
  const r = spawnSync("docker", ["ps", "-aq", "--filter", `label=${label}`], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean);
}

function requests(log: string): string[] {
  try {
    return readFileSync(log, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

describe("output contract", () => {
  it("takes the last complete tag pair and explains what is wrong otherwise", () => {
    expect(checkContract("a <final_answer> x </final_answer> b <final_answer>y</final_answer>", "final_answer")).toEqual({ ok: true, answer: "y" });
    expect(checkContract("no tags", "final_answer").reason).toMatch(/no <final_answer>/);
    expect(checkContract("<final_answer>open", "final_answer").reason).toMatch(/never closed/);
    expect(checkContract("<final_answer> </final_answer>", "final_answer").reason).toMatch(/empty/);
    expect(checkContract("", "final_answer").ok).toBe(false);
    expect(checkContract("<answer.v2>ok</answer.v2>", "answer.v2")).toEqual({ ok: true, answer: "ok" });
  });
});

describe("traces stage (real sandbox, stand-in teacher over HTTP)", () => {
  beforeAll(async () => {
    await ensureDocker();
  }, 300_000);

  it("records rollouts whose tool calls ran in the container, with statuses and the contract checked", () => {
    const log = join(tempDir("standin-log-"), "requests.log");
    const dir = project({ tasks: ["run the check (sleepy)", "loop forever", "nocontract please", "badjson first"] });
    const r = sabuild(dir, ["build", "runner:traces"], { STANDIN_LOG: log });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/stand-in/);
    const t = traces(dir);
    expect(Object.keys(t).sort()).toEqual(["t1.s0", "t2.s0", "t3.s0", "t4.s0"]);

    const ok = t["t1.s0"]!;
    expect(ok.status).toBe("completed");
    expect(ok.contract).toEqual({ tag: "final_answer", ok: true });
    // Real output of the command in the sandbox: a non-root user, and wc counting 5 bytes.
    const toolMsg = ok.messages.find((m) => m.role === "tool")!;
    expect(toolMsg.content).toMatch(/uid=[1-9]\d*/);
    expect(toolMsg.content).toMatch(/\b5\b/);
    expect(ok.final_answer).toMatch(/uid=/);
    expect(ok.messages[0]!.role).toBe("system");
    expect(ok.messages[0]!.content).toMatch(/<final_answer>/);
    expect(ok.tools.map((x) => x.function.name).sort()).toEqual(["Bash", "Read"]);
    expect(ok.usage.requests).toBe(2);
    expect(ok.usage.cost_usd).toBeGreaterThan(0);
    expect(ok.sandbox.recipe).toBe("shell");
    expect(ok.sandbox.id).toMatch(/^sha256:/);
    expect(ok.model).toEqual({ name: "scripted", base_url: "standin:policy.mjs", role: "teacher" });
    // The container started beside the 2 s first reply, so the tool call did not wait for it.
    expect(ok.timings.sandbox_ms).toBeLessThan(2000);
    expect(ok.timings.sandbox_wait_ms).toBeLessThan(100);

    const loop = t["t2.s0"]!;
    expect(loop.status).toBe("turn_cap");
    expect(loop.turns).toBe(3);
    expect(loop.tool_calls).toBe(3);
    expect(loop.messages.at(-2)!.content).toMatch(/Do not call any more tools/);
    expect(loop.final_answer).toBe("stopped after 3 tool calls");

    expect(t["t3.s0"]!.status).toBe("contract_violation");
    expect(t["t3.s0"]!.error).toMatch(/no <final_answer>/);

    const bad = t["t4.s0"]!;
    expect(bad.tool_errors).toBe(1);
    expect(bad.messages.find((m) => m.role === "tool")!.content).toMatch(/not valid JSON/);
    expect(bad.status).toBe("completed");

    // One container per rollout, each removed when its rollout ended.
    expect(leftoverContainers(dir)).toEqual([]);
    // 2 + (3 + 1) + 2 + 2 requests.
    expect(requests(log)).toHaveLength(10);

    // A rebuild is up to date and asks nothing.
    const again = sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["build", "runner:traces"], { STANDIN_LOG: log });
    expect(again.stages.find((s) => s.id === "runner:traces")!.status).toBe("up-to-date");
    expect(requests(log)).toHaveLength(10);

    // New tasks run only the new rollouts.
    appendFileSync(join(dir, "tasks.jsonl"), `${JSON.stringify({ id: "t5", prompt: "run the check again" })}\n`);
    expect(sabuild(dir, ["build", "runner:traces"], { STANDIN_LOG: log }).code).toBe(0);
    expect(requests(log).slice(10)).toEqual(["run the check again", "run the check again"]);

    // A second sample per task: the first samples' requests replay from the response cache.
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("max_turns: 3", "max_turns: 3\n      samples_per_task: 2"));
    const before = requests(log).length;
    const two = sabuild(dir, ["build", "runner:traces"], { STANDIN_LOG: log });
    expect(two.code, two.stderr).toBe(0);
    const t2 = traces(dir);
    expect(Object.keys(t2)).toHaveLength(10);
    expect(t2["t1.s0"]!.usage.cached_requests).toBe(2);
    // A replayed reply arrives at once: its container was opened at the tool call, not ahead.
    expect(t2["t1.s0"]!.timings.sandbox_wait_ms).toBeGreaterThan(0);
    expect(t2["t1.s1"]!.usage.cached_requests).toBe(0);
    // Only the new samples reached the server: 2 + 4 + 2 + 2 + 2.
    expect(requests(log).length - before).toBe(12);
  }, 240_000);

  it("stops at the budget, keeps finished rollouts, and goes on when the budget is raised", () => {
    const log = join(tempDir("standin-log-"), "requests.log");
    const dir = project({ tasks: ["run a", "run b", "run c", "run d"], extra: ["      budget: { tokens: 2000 }"] });
    const r = sabuild(dir, ["build", "runner:traces", "-j", "1"], { STANDIN_LOG: log });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/budget reached: \d of 4 items done and kept/);
    const sent = requests(log).length;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(8);
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("tokens: 2000", "tokens: 100000"));
    const more = sabuildJson<{ stages: { id: string; items?: { run: number; reused: number } }[] }>(dir, ["build", "runner:traces", "-j", "1"], { STANDIN_LOG: log });
    expect(more.__code).toBe(0);
    const st = more.stages.find((s) => s.id === "runner:traces")!;
    expect(st.items!.reused).toBeGreaterThan(0);
    expect(st.items!.reused + st.items!.run).toBe(4);
  }, 180_000);

  it("keeps finished rollouts when interrupted, and resumes", async () => {
    const log = join(tempDir("standin-log-"), "requests.log");
    const dir = project({ tasks: ["slow a", "slow b", "slow c", "slow d", "slow e"] });
    const child = spawnSabuild(dir, ["build", "runner:traces", "-j", "1", "--verbose"], { STANDIN_LOG: log });
    await waitFor(() => /\[t\d\.s0\] completed/.test(child.output()), 120_000, "a finished rollout");
    child.kill("SIGINT");
    expect(await exited(child)).toBe(130);
    const more = sabuildJson<{ stages: { id: string; items?: { run: number; reused: number } }[] }>(dir, ["build", "runner:traces"], { STANDIN_LOG: log });
    expect(more.__code).toBe(0);
    const st = more.stages.find((s) => s.id === "runner:traces")!;
    expect(st.items!.reused).toBeGreaterThanOrEqual(1);
    expect(st.items!.reused + st.items!.run).toBe(5);
    // The interrupted rollouts' containers are gone.
    expect(leftoverContainers(dir)).toEqual([]);
  }, 240_000);
});
