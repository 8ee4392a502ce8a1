// The rollout benchmark's teacher: a fixed latency per call (ROLLOUT_LATENCY_MS, default 200),
// one Bash call, then the answer. What is measured is sabuild's overhead around the model.
const latency = Number(process.env.ROLLOUT_LATENCY_MS ?? 200);

export async function policy(request) {
  await new Promise((r) => setTimeout(r, latency));
  const tools = request.messages.filter((m) => m.role === "tool");
  if (tools.length === 0) return { tool_calls: [{ name: "Bash", arguments: { command: "ls / | wc -l" } }] };
  return { content: `<final_answer>${tools[0].content.trim()}</final_answer>` };
}
