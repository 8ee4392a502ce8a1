// Feeds one fixed script of engine events to the renderer named on the command line (plain,
// listr or json), as a build would, so the renderer contract suite can compare what each shows.
import { join } from "node:path";

const [, , which, dist] = process.argv;
const load = async (file) => import(join(dist, "logging", file));
const renderer =
  which === "plain" ? (await load("plain.js")).plainRenderer({ verbose: false })
  : which === "listr" ? (await load("listr.js")).listrRenderer()
  : (await load("json.js")).jsonRenderer();

const ids = ["a:import", "a:traces", "a:dataset", "a:train", "b:import", "proj:summary"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
renderer.start(ids);
const ev = (e) => renderer.event(e);
ev({ type: "message", level: "warn", text: "remote cache disabled: no such host" });
ev({ type: "stage-end", id: "a:import", status: "up-to-date", durationMs: 0, reasons: [], key: "k1", output: "o1" });
ev({ type: "stage-start", id: "a:traces", reasons: [{ type: "new" }] });
ev({ type: "stage-progress", id: "a:traces", done: 1, total: 3 });
ev({ type: "stage-log", id: "a:traces", line: "[t1.s0] completed in 2 turns", level: "info" });
ev({ type: "stage-log", id: "a:traces", line: "the teacher ignored max_tokens", level: "warn" });
await sleep(50);
ev({
  type: "stage-end", id: "a:traces", status: "failed", durationMs: 1200, reasons: [{ type: "new" }], key: "k2",
  items: { run: 1, reused: 0, fetched: 0, failed: 1, stopped: 1 },
  failure: { reason: "items", failed: [{ id: "t2.s0", message: "sandbox exploded" }], stopped: 1, kept: 1, total: 3, log: "/store/logs/a_traces.log" },
});
ev({ type: "stage-end", id: "a:dataset", status: "skipped", durationMs: 0, reasons: [], failure: { reason: "upstream", stage: "a:traces" } });
ev({ type: "stage-end", id: "a:train", status: "unavailable", durationMs: 0, reasons: [{ type: "unavailable", message: "train is after a's until" }] });
ev({ type: "stage-start", id: "b:import", reasons: [] });
ev({ type: "stage-end", id: "b:import", status: "failed", durationMs: 5, reasons: [], failure: { reason: "inputs", problems: [{ file: "agents/b.md", line: 3, column: 1, keyPath: ["tools"], message: "unknown tool Frobnicate" }] } });
ev({ type: "stage-start", id: "proj:summary", reasons: [] });
ev({ type: "stage-end", id: "proj:summary", status: "built", durationMs: 30, reasons: [], key: "k3", output: "o3" });
await renderer.stop();
if (which === "json") process.stdout.write(`${JSON.stringify(renderer.stages())}\n`);
