// The bundled benchmark's scripted main agent: a written policy, not a model (a STAND-IN). It
// reads the task, has the failing tests run and explained (by the test-runner subagent when one
// is offered, with Bash itself otherwise), applies the fix it knows for that bug, runs the tests
// once more itself and finishes. Every tool call runs for real in the task's container and the verifier decides;
// what differs between arms is who runs the tests and how much of their output comes back.
// Real use points the benchmark's `orchestrator` at a real endpoint instead.
//
// Exported: `policy(request)` -> { content?, tool_calls?: [{ name, arguments }] }

/** Each bug the tasks name: its test file and the edit that fixes it. */
const FIXES = [
  { when: /test_dates/, tests: "tests/test_dates.py", fix: "sed -i 's/date(int(m\\[3\\]), int(m\\[1\\]), int(m\\[2\\]))/date(int(m[3]), int(m[2]), int(m[1]))/' taskq/dates.py" },
  { when: /test_retry/, tests: "tests/test_retry.py", fix: "sed -i 's/if attempt > self.max_attempts:/if attempt >= self.max_attempts:/' taskq/utils/retry.py" },
  { when: /test_parser/, tests: "tests/test_parser.py", fix: "sed -i 's/, re.ASCII)/)/' taskq/parser.py" },
];

const call = (name, args) => ({ tool_calls: [{ name, arguments: JSON.stringify(args) }] });

export function policy(request) {
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const steps = request.messages.filter((m) => m.role === "tool").length;
  const delegate = (request.tools ?? []).some((t) => t.function.name === "Agent");
  const bug = FIXES.find((f) => f.when.test(task));
  if (!bug) return { content: "I do not know this bug: nothing changed." };
  const pytest = call("Bash", { command: `python3 -m pytest -q ${bug.tests} 2>&1 | tail -25` });
  if (steps === 0) return delegate ? call("Agent", { description: "run the failing tests", prompt: `Run the tests in ${bug.tests} and tell me which fail and why.`, subagent_type: "test-runner" }) : pytest;
  if (steps === 1) return call("Bash", { command: bug.fix });
  if (steps === 2) return pytest;
  return { content: `Fixed: ${bug.tests} should pass now.` };
}
