import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measure } from "../src/bench/measure.js";
import { orchestrate } from "../src/bench/orchestrator.js";
import { offeredSubagent } from "../src/bench/subagent.js";
import type { Arm } from "../src/bench/types.js";
import { verifierSchema } from "../src/envs/types.js";
import { createChatClient } from "../src/llm/client.js";
import type { ChatClient, ChatRequest } from "../src/llm/types.js";
import { buildRecipeImage, openContainerIds, openSandbox, type SandboxImage } from "../src/sandbox/index.js";
import { startStandin, type Standin, type StandinReply } from "../src/standin/index.js";
import { toolsNamed } from "../src/tools/index.js";
import { runVerifier } from "../src/verify/run.js";
import { ensureDocker } from "./support/docker.js";

/**
 * The orchestrator benchmark's loop, in a real container with stand-ins speaking the OpenAI
 * protocol: the main agent delegates through an Agent tool, the subagent works in the same
 * container (it sees the main agent's edits), only its final answer goes back, and the item's
 * figures are read from the traces.
 */

/** The main agent: writes a note, asks the test-runner what the note says, fixes the file, ends. */
function mainPolicy(request: ChatRequest): StandinReply {
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const results = request.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  const offered = (request.tools ?? []).some((t) => t.function.name === "Agent");
  const step = results.length;
  if (step === 0) return { tool_calls: [{ name: "Write", arguments: { file_path: "/workspace/note.txt", content: "the answer is 42\n" } }] };
  if (/nosuch/.test(task) && step === 1) return { tool_calls: [{ name: "Agent", arguments: { description: "wrong one", prompt: "read note.txt", subagent_type: "nobody" } }] };
  const asked = /nosuch/.test(task) ? 2 : 1;
  if (step === asked) {
    if (!offered) return { tool_calls: [{ name: "Bash", arguments: { command: "cat note.txt" } }] };
    return { tool_calls: [{ name: "Agent", arguments: { description: "read the note", prompt: "What does note.txt in the workspace say?", subagent_type: "test-runner" } }] };
  }
  if (step === asked + 1) {
    const number = /(\d+)/.exec(results.at(-1)!)?.[1] ?? "0";
    return { tool_calls: [{ name: "Bash", arguments: { command: `echo ${number} > result.txt` } }] };
  }
  return { content: "Done: result.txt holds the number." };
}

/** The subagent: runs two commands, then answers inside its contract. */
function subPolicy(request: ChatRequest): StandinReply {
  const results = request.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length === 0) return { tool_calls: [{ name: "Bash", arguments: { command: "ls" } }] };
  if (results.length === 1) return { tool_calls: [{ name: "Bash", arguments: { command: "cat note.txt" } }] };
  return { content: `Read it.\n<final_answer>${results.at(-1)!.trim()}</final_answer>` };
}

describe("the orchestrator loop (real container, stand-in models)", () => {
  let image: SandboxImage;
  let main: Standin;
  let sub: Standin;
  beforeAll(async () => {
    await ensureDocker();
    image = await buildRecipeImage({ recipe: "shell" });
    main = await startStandin({ policy: mainPolicy });
    sub = await startStandin({ policy: subPolicy });
  }, 600_000);
  afterAll(async () => {
    await main?.close();
    await sub?.close();
    expect(openContainerIds()).toEqual([]);
  });

  const client = (url: string, model: string) => createChatClient({ baseUrl: url, apiKey: "", model, cache: false, retry: { maxRetries: 0 }, warn: () => undefined, pricing: { input_per_mtok: 1, output_per_mtok: 2 } });
  const verify = verifierSchema.parse({ command: "grep -qx 42 result.txt" });

  // The salts the subagent's model calls carry into the reply cache.
  const salts: string[] = [];
  const recording = (c: ChatClient): ChatClient => ({
    ...c,
    complete: (request, opts) => {
      salts.push(opts?.cacheSalt ?? "");
      return c.complete(request, opts);
    },
  });
  // One offered subagent per arm, shared by that arm's items, as the benchmark's runs node does.
  const offered = (arm: Arm) =>
    (offeredByArm[arm] ??= [
        offeredSubagent({
          name: "test-runner",
          description: "Runs commands and reports what they print",
          instructions: "You run commands in the workspace.",
          tools: toolsNamed(["Bash"]),
          contractTag: "final_answer",
          maxTurns: 5,
          client: recording(client(sub.url, "student-model")),
          model: { name: "student-model", base_url: "llama-server", role: "student" },
          sampling: { temperature: 0 },
        }),
      ]);
  const offeredByArm: Partial<Record<Arm, ReturnType<typeof offeredSubagent>[]>> = {};

  const play = (arm: Arm, prompt = "Put the number from the note into result.txt", item = { id: "t1", sample: 0 }) =>
    orchestrate({
      arm,
      task: { id: item.id, prompt, tags: [] },
      sample: item.sample,
      tools: toolsNamed(["Bash", "Read", "Write"]),
      offered: offered(arm),
      maxTurns: 10,
      client: client(main.url, "main-model"),
      model: { name: "main-model", base_url: main.url, role: "orchestrator" },
      sampling: { temperature: 0 },
      image,
      openSandbox: () => openSandbox(image),
      verify: (box) => runVerifier(box, verify),
    });

  it("delegates through the Agent tool: the subagent sees the main agent's edits, only its answer goes back, and the verifier decides", async () => {
    const trace = await play("student");
    expect(trace.status).toBe("completed");
    expect(trace.verification?.passed).toBe(true);
    // The Agent tool was offered, shaped like Claude Code's.
    const agentTool = trace.tools.find((t) => t.function.name === "Agent")!;
    expect(agentTool.function.parameters).toMatchObject({ required: ["description", "prompt", "subagent_type"], properties: { subagent_type: { enum: ["test-runner"] } } });
    expect(agentTool.function.description).toContain("test-runner: Runs commands and reports what they print");
    // One delegation: the subagent read the note the main agent wrote in the same container.
    expect(trace.delegations).toHaveLength(1);
    const d = trace.delegations[0]!;
    expect(d).toMatchObject({ subagent: "test-runner", description: "read the note", answer: "the answer is 42" });
    expect(d.trace.turns).toBe(3);
    expect(d.trace.model.role).toBe("student");
    // What went back is the answer alone; the subagent's `ls` output never reached the main agent.
    const toolMessages = trace.messages.filter((m) => m.role === "tool").map((m) => m.content);
    expect(toolMessages).toContain("the answer is 42");
    expect(toolMessages.join("\n")).not.toContain("Read it.");
    const ls = d.trace.messages.filter((m) => m.role === "tool")[0]!.content!;
    expect(ls).toContain("note.txt");

    const m = measure(trace, { main: true, subagents: { kind: "local", cost: { usd_per_mtok: 10 } } });
    expect(m).toMatchObject({ resolved: true, verified: true, delegations: 1, terminal_calls: 1, tool_calls: 3, main_calls: 4, subagent_turns: 3, subagent_terminal_calls: 2, answer_chars: "the answer is 42".length });
    expect(m.tool_calls_by_tool).toEqual({ Write: 1, Agent: 1, Bash: 1 });
    expect(m.main_tokens).toBe(m.main_prompt_tokens + m.main_completion_tokens);
    expect(m.main_tokens).toBeGreaterThan(0);
    expect(m.subagent_tokens).toBeGreaterThan(0);
    // Priced: the main agent at its API price, the local subagent at $10 per million tokens.
    expect(m.cost_usd).toBeCloseTo(trace.usage.cost_usd + (10 * m.subagent_tokens) / 1e6, 8);
    // A local model with no serving cost is unknown, never a silent zero.
    const unpriced = measure(trace, { main: true, subagents: { kind: "local" } });
    expect(unpriced.cost_usd).toBeNull();
    expect(unpriced.cost_note).toMatch(/no serving cost for the local student model/);
  });

  it("keeps each item's delegations apart in the reply cache whatever order the items run in", async () => {
    salts.length = 0;
    await play("base", undefined, { id: "t2", sample: 1 });
    const first = [...salts];
    salts.length = 0;
    await play("base", undefined, { id: "t3", sample: 0 });
    await play("base", undefined, { id: "t2", sample: 1 });
    // The same item asks with the same salts when it runs again after another item; another item
    // sending the same requests is another sample.
    expect(first).toEqual(["delegation:t2.s1#0", "delegation:t2.s1#0", "delegation:t2.s1#0"]);
    expect(salts).toEqual([...first.map((s) => s.replace("t2.s1", "t3.s0")), ...first]);
  });

  it("offers no delegation in the none arm: the main agent does the work itself", async () => {
    const trace = await play("none");
    expect(trace.tools.map((t) => t.function.name).sort()).toEqual(["Bash", "Read", "Write"]);
    expect(trace.delegations).toEqual([]);
    expect(trace.verification?.passed).toBe(true);
    const m = measure(trace, { main: true, subagents: { kind: "local" } });
    expect(m).toMatchObject({ delegations: 0, terminal_calls: 2, subagent_tokens: 0, answer_chars: 0 });
    // Nothing was delegated, so nothing is unpriced.
    expect(m.cost_usd).toBe(trace.usage.cost_usd);
  });

  it("answers a delegation to an unknown subagent with a tool error the main agent can correct", async () => {
    const trace = await play("teacher", "Put the number from the note into result.txt (nosuch first)");
    const first = trace.messages.filter((m) => m.role === "tool")[1]!.content!;
    expect(first).toBe('No subagent "nobody". Available: test-runner.');
    expect(trace.tool_errors).toBe(1);
    expect(trace.delegations).toHaveLength(1);
    expect(trace.verification?.passed).toBe(true);
  });
});
