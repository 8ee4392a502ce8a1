// The orchestrator loop's own overhead: one benchmark item (the main agent delegates to a
// subagent, runs a command, finishes; the subagent runs a command and answers) against
// stand-ins that answer every model call after a fixed --latency, in a real container.
//
//   node bench/orchestrator.mjs [--items 10] [--latency 200]
//
// Per item: 3 main-agent calls, 2 subagent calls, 2 commands in the container, 1 container.
// What the harness adds is the item's wall time less what it waited for: the stand-in's
// latency for each model call, the commands inside the container (the tools' time, Docker's
// exec round trips included), the container's start where a call waited for it and its removal. Reported
// per model turn, and as a share of the model's latency (goal: under 5%).
import { options, positive, requireDist, round, summary, table } from "./lib.mjs";

const usage = "node bench/orchestrator.mjs [--items N] [--latency MS] [--json]";
const o = options({ items: { type: "string", default: "10" }, latency: { type: "string", default: "200" }, json: { type: "boolean", default: false } }, usage);
const items = positive("items", o.items);
const latency = positive("latency", o.latency);
const dist = requireDist();
const { orchestrate } = await import(`${dist}/bench/orchestrator.js`);
const { offeredSubagent } = await import(`${dist}/bench/subagent.js`);
const { createChatClient } = await import(`${dist}/llm/client.js`);
const { startStandin } = await import(`${dist}/standin/index.js`);
const { buildRecipeImage, openSandbox } = await import(`${dist}/sandbox/index.js`);
const { toolsNamed } = await import(`${dist}/tools/index.js`);

const toolResults = (request) => request.messages.filter((m) => m.role === "tool");
const main = await startStandin({
  latencyMs: latency,
  policy: (request) => {
    const step = toolResults(request).length;
    if (step === 0) return { tool_calls: [{ name: "Agent", arguments: { description: "count files", prompt: "How many entries does / have?", subagent_type: "counter" } }] };
    if (step === 1) return { tool_calls: [{ name: "Bash", arguments: { command: "echo done > result.txt" } }] };
    return { content: "Done." };
  },
});
const sub = await startStandin({
  latencyMs: latency,
  policy: (request) => {
    const results = toolResults(request);
    if (results.length === 0) return { tool_calls: [{ name: "Bash", arguments: { command: "ls / | wc -l" } }] };
    return { content: `<final_answer>${results[0].content.trim()}</final_answer>` };
  },
});
const client = (url, model) => createChatClient({ baseUrl: url, apiKey: "", model, cache: false, concurrency: 1, retry: { maxRetries: 0 }, warn: () => undefined, pricing: { input_per_mtok: 1, output_per_mtok: 1 } });
const image = await buildRecipeImage({ recipe: "shell" });
const counter = offeredSubagent({
  name: "counter",
  description: "Counts things",
  instructions: "You count things.",
  tools: toolsNamed(["Bash"]),
  contractTag: "final_answer",
  maxTurns: 4,
  client: client(sub.url, "sub"),
  model: { name: "sub", base_url: sub.url, role: "student" },
  sampling: {},
});
const mainClient = client(main.url, "main");

const rows = [];
try {
  for (let i = 0; i < items; i++) {
    let closeMs = 0;
    const started = performance.now();
    const trace = await orchestrate({
      arm: "student",
      task: { id: `t${i}`, prompt: `item ${i}`, tags: [] },
      sample: 0,
      tools: toolsNamed(["Bash", "Read"]),
      offered: [counter],
      maxTurns: 6,
      client: mainClient,
      model: { name: "main", base_url: main.url, role: "orchestrator" },
      sampling: {},
      image,
      openSandbox: async () => {
        const box = await openSandbox(image);
        // Removing the container is Docker's time, as its start is: timed to be counted as waited.
        return { ...box, containerId: box.containerId, image: box.image, exec: (a, b) => box.exec(a, b), close: async () => { const t = performance.now(); await box.close(); closeMs = performance.now() - t; } };
      },
    });
    const wall = performance.now() - started;
    const subs = trace.delegations.map((d) => d.trace);
    const calls = trace.usage.requests + subs.reduce((n, t) => n + t.usage.requests, 0);
    const turns = trace.turns + subs.reduce((n, t) => n + t.turns, 0);
    // The main agent's tool time holds the delegation, whose model calls are counted above.
    const toolMs = trace.timings.tool_ms - subs.reduce((n, t) => n + t.timings.duration_ms - t.timings.tool_ms, 0);
    const waited = calls * latency + toolMs + (trace.timings.sandbox_wait_ms ?? 0) + closeMs;
    rows.push({ wall, calls, turns, toolMs, closeMs, overhead: wall - waited });
  }
} finally {
  await main.close();
  await sub.close();
}
// The first item pays for loading modules and the first connections: reported apart.
const [first, ...rest] = rows;
const perTurn = rest.map((r) => r.overhead / r.turns);
const s = summary(perTurn);
const result = {
  items,
  latency_ms: latency,
  calls_per_item: rest[0]?.calls,
  turns_per_item: rest[0]?.turns,
  wall_ms: summary(rest.map((r) => r.wall)),
  tools_ms: summary(rest.map((r) => r.toolMs)),
  container_close_ms: summary(rest.map((r) => r.closeMs)),
  overhead_per_turn_ms: s,
  overhead_vs_latency_pct: round((100 * s.median) / latency, 2),
  first_item: { wall_ms: round(first.wall), overhead_ms: round(first.overhead) },
};
if (o.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(
    table([
      ["what", "median", "max"],
      ["item wall time (ms)", round(result.wall_ms.median), result.wall_ms.max],
      ["tools in the container (ms)", round(result.tools_ms.median), result.tools_ms.max],
      ["container removal (ms)", result.container_close_ms.median, result.container_close_ms.max],
      ["harness overhead per model turn (ms)", s.median, s.max],
    ]),
  );
  console.log(`overhead per turn: ${result.overhead_vs_latency_pct}% of the ${latency} ms model latency (goal < 5%); ${result.calls_per_item} model calls and ${result.turns_per_item} turns per item; first item ${result.first_item.wall_ms} ms`);
}
