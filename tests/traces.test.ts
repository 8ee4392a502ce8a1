import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Trace } from "../src/traces/types.js";
import { checkContract } from "../src/traces/contract.js";
import { exited, makeProject, REPO, sabuild, sabuildJson, spawnSabuild, tempDir, waitFor } from "./helpers.js";
import { ensureDocker, projectContainers } from "./support/docker.js";

/** One subagent's section: a runner of shell commands on the shell recipe, with `extra` lines under it. */
function runnerSection(name: string, extra: string[] = [], opts: { priced?: boolean } = {}): string[] {
  return [
    `  ${name}:`,
    "    source:",
    "      inline:",
    "        description: Runs shell commands and reports what they print",
    "        prompt: You run commands in the workspace and report their output.",
    "        tools: [Bash, Read]",
    "    teacher:",
    "      standin: policy.mjs",
    "      model: scripted",
    ...(opts.priced ? ["      pricing: { input_per_mtok: 1, output_per_mtok: 1 }"] : []),
    "    sandbox:",
    "      recipe: shell",
    "    tasks:",
    "      from: tasks.jsonl",
    "      holdout: 0",
    "      count: 1",
    "    traces:",
    "      max_turns: 3",
    ...extra,
  ];
}

function project(opts: { tasks: string[]; extra?: string[] }): string {
  const dir = makeProject({
    "subagents.yaml": ["version: 1", "subagents:", ...runnerSection("runner", opts.extra, { priced: true }), ""].join("\n"),
    "tasks.jsonl": opts.tasks.map((p, i) => JSON.stringify({ id: `t${i + 1}`, prompt: p })).join("\n") + "\n",
  });
  copyFileSync(join(REPO, "tests/fixtures/standin/rollout-policy.mjs"), join(dir, "policy.mjs"));
  return dir;
}

function traces(dir: string, id = "runner:traces"): Record<string, Trace> {
  const out: Record<string, Trace> = {};
  for (const [path, text] of Object.entries(artifacts(dir, id))) {
    const m = /^items\/([^/]+)\/trace\.json$/.exec(path);
    if (m) out[m[1]!] = JSON.parse(text) as Trace;
  }
  return out;
}

/** A stage's output files: path -> content. */
function artifacts(dir: string, id: string): Record<string, string> {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", id]);
  return Object.fromEntries(art.files.map((f) => [f.path, readFileSync(f.blob, "utf8")]));
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

/** The scripted policy, with the sampling temperature of each request said in its answer. */
const ECHO_POLICY = `import { policy as scripted } from "./rollout-policy.mjs";
export async function policy(request) {
  const reply = await scripted(request);
  return reply.content ? { ...reply, content: reply.content.replace("</final_answer>", \`(temperature \${request.temperature})\\n</final_answer>\`) } : reply;
}
`;

/** Stands in for export (eval reads only export.json when it rolls out the teacher alone). */
const EXPORT_STUB = `import { writeFileSync } from "node:fs";
import { join } from "node:path";
export default () => [{
  kind: "export", version: "1", deps: [],
  inputs: async () => ({ ok: true, value: { params: null, files: [] } }),
  run: async (ctx) => writeFileSync(join(ctx.outDir, "export.json"), JSON.stringify({ shipped: "none.gguf", gguf_outtype: "f16" })),
}];
`;

/** Each change, as the line of subagents.yaml before and after, and what trace.json says of it before and after. */
const RERUNS: Record<string, { from: string; to: string; seen(t: Trace): unknown; before: unknown; after: unknown }> = {
  prompt: {
    from: "prompt: You run commands in the workspace and report their output.",
    to: "prompt: You run commands and quote their output exactly.",
    seen: (t) => t.messages[0]!.content!.split("\n")[0],
    before: "You run commands in the workspace and report their output.",
    after: "You run commands and quote their output exactly.",
  },
  tools: { from: "tools: [Bash, Read]", to: "tools: [Bash]", seen: (t) => t.tools.map((x) => x.function.name), before: ["Bash", "Read"], after: ["Bash"] },
  recipe: { from: "recipe: shell", to: "recipe: python-repo", seen: (t) => t.sandbox.recipe, before: "shell", after: "python-repo" },
  model: { from: "model: scripted", to: "model: scripted-v2", seen: (t) => t.model.name, before: "scripted", after: "scripted-v2" },
  temperature: {
    from: "max_turns: 3",
    to: "max_turns: 3\n      temperature: 0.3",
    seen: (t) => /\(temperature ([\d.]+)\)/.exec(t.final_answer ?? "")?.[1],
    before: "0.7",
    after: "0.3",
  },
};

type Built = { stages: { id: string; status: string; items?: { run: number; reused: number } }[] };

describe("what reruns the rollouts (real sandbox, stand-in teacher)", () => {
  // One subagent per change (and one for eval's judge), so one build before and one after cover them all.
  const config = (after: boolean): string =>
    [
      "version: 1",
      "plugins: [export-stub.mjs]",
      "subagents:",
      ...Object.entries(RERUNS).map(([name, c]) => {
        const section = runnerSection(name).join("\n");
        return after ? section.replace(c.from, c.to) : section;
      }),
      ...runnerSection("judged", ["    eval:", "      models: [teacher]", "      judge:", after ? "        rubric: { cites_output: The answer quotes the command's output. }" : "        threshold: 0.5"]).map((l) =>
        l.replace("from: tasks.jsonl", "from: heldout.jsonl").replace("holdout: 0", "holdout: 0.9"),
      ),
      "",
    ].join("\n");
  let second: Built;
  const before: Record<string, Record<string, Trace>> = {};
  const after: Record<string, Record<string, Trace>> = {};
  let judgedBefore: Record<string, string>;
  let judgedAfter: Record<string, string>;

  beforeAll(async () => {
    await ensureDocker();
    const dir = makeProject({
      "subagents.yaml": config(false),
      "tasks.jsonl": `${JSON.stringify({ id: "t1", prompt: "run the check" })}\n${JSON.stringify({ id: "t2", prompt: "run it once more" })}\n`,
      // Both prompts hash into the held-out share of holdout: 0.9 (isHeldOut), so eval rolls out two.
      "heldout.jsonl": `${JSON.stringify({ id: "h1", prompt: "run the check again" })}\n${JSON.stringify({ id: "h2", prompt: "count the bytes" })}\n`,
      "policy.mjs": ECHO_POLICY,
      "export-stub.mjs": EXPORT_STUB,
    });
    copyFileSync(join(REPO, "tests/fixtures/standin/rollout-policy.mjs"), join(dir, "rollout-policy.mjs"));
    const targets = [...Object.keys(RERUNS).map((n) => `${n}:traces`), "judged:eval"];
    const first = sabuildJson<Built>(dir, ["build", ...targets]);
    expect(first.__code, JSON.stringify(first.stages)).toBe(0);
    for (const name of Object.keys(RERUNS)) before[name] = traces(dir, `${name}:traces`);
    judgedBefore = artifacts(dir, "judged:eval");

    writeFileSync(join(dir, "subagents.yaml"), config(true));
    second = sabuildJson<Built>(dir, ["build", ...targets]);
    expect(second.__code, JSON.stringify(second.stages)).toBe(0);
    for (const name of Object.keys(RERUNS)) after[name] = traces(dir, `${name}:traces`);
    judgedAfter = artifacts(dir, "judged:eval");
  }, 300_000);

  it.each(Object.keys(RERUNS))("reruns every item of traces when the %s changes, and trace.json shows the new value", (name) => {
    const c = RERUNS[name]!;
    expect(second.stages.find((s) => s.id === `${name}:traces`)).toMatchObject({ status: "built", items: { run: 2, reused: 0 } });
    for (const item of ["t1.s0", "t2.s0"]) {
      expect(c.seen(before[name]![item]!), item).toEqual(c.before);
      expect(c.seen(after[name]![item]!), item).toEqual(c.after);
    }
    // The recipe's case: the rollouts ran in the new image, not only under its name.
    if (name === "recipe") for (const item of ["t1.s0", "t2.s0"]) expect(after.recipe![item]!.sandbox.id).not.toBe(before.recipe![item]!.sandbox.id);
  });

  it("reruns eval when its judge changes, and the judgments follow the new rubric", () => {
    expect(second.stages.find((s) => s.id === "judged:eval")!.status).toBe("built");
    const judgments = (files: Record<string, string>) =>
      Object.entries(files)
        .filter(([p]) => p.startsWith("judge/teacher/"))
        .map(([, text]) => JSON.parse(text) as { dimensions: Record<string, unknown> });
    expect(judgments(judgedBefore)).toHaveLength(2);
    for (const j of judgments(judgedBefore)) expect(j.dimensions).not.toHaveProperty("cites_output");
    expect(judgments(judgedAfter)).toHaveLength(2);
    for (const j of judgments(judgedAfter)) expect(j.dimensions).toHaveProperty("cites_output");
    // The answers' length in tokens, per model and per task (what the orchestrator pays for).
    const ev = JSON.parse(judgedAfter["eval.json"]!) as { models: { teacher: { answer_tokens: { mean: number; max: number } } }; tasks: { results: { teacher: { answer_tokens: number } } }[] };
    expect(ev.models.teacher.answer_tokens.mean).toBeGreaterThan(0);
    for (const t of ev.tasks) expect(t.results.teacher.answer_tokens).toBeLessThanOrEqual(ev.models.teacher.answer_tokens.max);
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
    expect(projectContainers(dir)).toEqual([]);
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

  it("fails only the rollouts of an environment that does not build, naming it with its build log's tail", () => {
    const dir = project({ tasks: ["run the check"] });
    appendFileSync(join(dir, "tasks.jsonl"), `${JSON.stringify({ id: "t2", prompt: "run the check there", env: { dockerfile: "envs/broken" } })}\n`);
    const dockerfile = join(dir, "envs/broken/Dockerfile");
    mkdirSync(join(dir, "envs/broken"), { recursive: true });
    writeFileSync(dockerfile, "FROM debian:bookworm-slim\nRUN echo the-step-that-breaks && exit 3\n");
    const first = sabuildJson<{ stages: { id: string; status: string; items?: { run: number; failed: number }; failure?: { reason: string; failed?: { id: string; message: string }[] } }[] }>(dir, ["build", "runner:traces"]);
    expect(first.__code).toBe(1);
    const stage = (id: string) => first.stages.find((s) => s.id === id)!;
    expect(stage("runner:sandbox").status).toBe("failed");
    // The rollout in the recipe's environment ran and is kept; the other names its environment and why.
    expect(stage("runner:traces").items).toMatchObject({ run: 1, failed: 1 });
    const failed = stage("runner:traces").failure!.failed!;
    expect(failed.map((f) => f.id)).toEqual(["t2.s0"]);
    expect(failed[0]!.message).toMatch(/runner:sandbox item broken-[0-9a-f]{12} did not complete/);
    expect(failed[0]!.message).toContain("the-step-that-breaks");
    // Fixed: that environment builds and only its rollout runs.
    writeFileSync(dockerfile, "FROM debian:bookworm-slim\nRUN useradd -m agent\nUSER agent\nWORKDIR /home/agent\n");
    const fixed = sabuildJson<{ stages: { id: string; items?: { run: number; reused: number } }[] }>(dir, ["build", "runner:traces"]);
    expect(fixed.__code).toBe(0);
    expect(fixed.stages.find((s) => s.id === "runner:sandbox")!.items).toMatchObject({ run: 1, reused: 1 });
    expect(fixed.stages.find((s) => s.id === "runner:traces")!.items).toMatchObject({ run: 1, reused: 1 });
    expect(Object.keys(traces(dir)).sort()).toEqual(["t1.s0", "t2.s0"]);
    expect(projectContainers(dir)).toEqual([]);
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
    expect(projectContainers(dir)).toEqual([]);
  }, 240_000);
});
