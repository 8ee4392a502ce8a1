// The Claude Code benchmark's scripted main agent: a written policy, not a model (a STAND-IN),
// served as Anthropic's Messages API to the real Claude Code, which runs headless in each task's
// container. It does what example/bench/orchestrator.mjs does: has the failing tests run and
// explained (by the test-runner subagent through sabuild's MCP tool when one is offered, with
// Claude Code's Bash otherwise), applies the fix it knows for that bug, runs the tests once more
// and finishes. Real use points the orchestrator at Anthropic's API instead.
//
// Exported: `policy(request)` -> { content?, tool_calls?: [{ name, arguments }] }, where request
// is the Messages API body (system, messages with tool_use / tool_result blocks, tools).

const FIXES = [
  { when: /test_dates/, tests: "tests/test_dates.py", fix: "sed -i 's/date(int(m\\[3\\]), int(m\\[1\\]), int(m\\[2\\]))/date(int(m[3]), int(m[2]), int(m[1]))/' taskq/dates.py" },
  { when: /test_retry/, tests: "tests/test_retry.py", fix: "sed -i 's/if attempt > self.max_attempts:/if attempt >= self.max_attempts:/' taskq/utils/retry.py" },
  { when: /test_parser/, tests: "tests/test_parser.py", fix: "sed -i 's/, re.ASCII)/)/' taskq/parser.py" },
];

/** sabuild's MCP server names each offered subagent's tool subagent_<name>; Claude Code prefixes the server. */
const TEST_RUNNER = "mcp__sabuild__subagent_test-runner";

const call = (name, input) => ({ tool_calls: [{ name, arguments: input }] });
const blocks = (m) => (typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content);

export function policy(request) {
  const tools = (request.tools ?? []).map((t) => t.name);
  // Claude Code's own side requests (no tools): a plain answer.
  if (!tools.includes("Bash")) return { content: "ok" };
  // The task is the first user message's text, after the context Claude Code adds in system reminders.
  const task = blocks(request.messages[0]).filter((b) => b.type === "text" && !b.text.startsWith("<system-reminder>")).map((b) => b.text).join("\n");
  const steps = request.messages.flatMap(blocks).filter((b) => b.type === "tool_result").length;
  const bug = FIXES.find((f) => f.when.test(task));
  if (!bug) return { content: "I do not know this bug: nothing changed." };
  const pytest = call("Bash", { command: `python3 -m pytest -q ${bug.tests} 2>&1 | tail -25` });
  if (steps === 0) return tools.includes(TEST_RUNNER) ? call(TEST_RUNNER, { prompt: `Run the tests in ${bug.tests} and tell me which fail and why.` }) : pytest;
  if (steps === 1) return call("Bash", { command: bug.fix });
  if (steps === 2) return pytest;
  return { content: `Fixed: ${bug.tests} should pass now.` };
}
