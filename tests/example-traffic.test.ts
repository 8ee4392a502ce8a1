import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { parseDocument } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { copyExample, exited, sabuild, sabuildJson, startServe, waitFor } from "./helpers.js";

/**
 * The data flywheel on the bundled example (issue 14, "recorded traffic becomes tasks in the
 * next build"), as docs/traffic.md's walkthrough runs it: the example does not turn recording
 * on (it would put the traffic log in the tasks key of every build of it), so a copy of the
 * example turns on `serve.record` and changelog-writer's `tasks.from_recorded`, the real
 * `sabuild serve` answers a real OpenAI client (the teacher stand-in, no student built yet),
 * and the next `sabuild build changelog-writer:tasks` holds the recorded prompts. The canary: a
 * key the client sends, in its headers and in a prompt, reaches no file of the project.
 */

const CANARY_KEY = "sk-canary-5e4d3c2b1a0998877665";
const CANARY_HEADER = "canary-header-41f0a9e2";

/** Every file under dir whose bytes hold the text. */
function filesHolding(dir: string, text: string): string[] {
  try {
    return execFileSync("grep", ["-rlF", "--", text, dir], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch (e) {
    if ((e as { status?: number }).status === 1) return [];
    throw e;
  }
}

type Task = { id: string; prompt: string; tags: string[]; origin?: string };

/** The tasks node's tasks, both splits (tasks.jsonl to train on, heldout.jsonl for eval), by id. */
function builtTasks(dir: string): Task[] {
  const tree = sabuildJson<{ tree: string }>(dir, ["artifacts", "changelog-writer:tasks"]).tree;
  const read = (file: string) => readFileSync(join(tree, file), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Task);
  return [...read("tasks.jsonl"), ...read("heldout.jsonl")].sort((a, b) => (a.id < b.id ? -1 : 1));
}

const status = (dir: string, id: string): string => sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan", id]).stages.find((s) => s.id === id)!.status;

describe("the example: recorded traffic becomes tasks in the next build", () => {
  let dir: string;
  let before: Task[];
  beforeAll(() => {
    dir = copyExample();
    // The two switches, through the YAML document API so the example's comments stay.
    const doc = parseDocument(readFileSync(join(dir, "subagents.yaml"), "utf8"));
    doc.setIn(["serve", "record"], true);
    doc.setIn(["subagents", "changelog-writer", "tasks", "from_recorded"], true);
    writeFileSync(join(dir, "subagents.yaml"), doc.toString());
    const built = sabuild(dir, ["build", "changelog-writer:tasks"]);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    before = builtTasks(dir);
  }, 300_000);

  it("serves, records each delegation without the client's key, and the next build's tasks hold the recorded prompts", async () => {
    expect(before.filter((t) => t.tags.includes("recorded"))).toEqual([]);
    const { child, ready, stderr } = await startServe<{ url: string }>(dir, ["changelog-writer", "--port", "0"]);
    try {
      const client = new OpenAI({ baseURL: ready.url, apiKey: CANARY_KEY, maxRetries: 0, defaultHeaders: { "x-api-key": CANARY_HEADER } });
      const prompts = ["Summarise the fixes merged since v0.9.0 for the release notes of the taskq scheduler.", `Draft the changelog for the retry backoff rework; the deploy key is ${CANARY_KEY}.`];
      for (const content of prompts) {
        const r = await client.chat.completions.create({ model: "subagent/changelog-writer", max_tokens: 128, messages: [{ role: "user", content }] }).withResponse();
        // No student is built in this copy: the teacher answers, and says why.
        expect(r.response.headers.get("x-sabuild-answered-by")).toBe("teacher");
        expect(r.response.headers.get("x-sabuild-route-reason")).toBe("no-student");
      }
      // The recorder writes after the response: wait for both lines.
      await waitFor(() => sabuildJson<{ records: unknown[] }>(dir, ["traffic", "ls"]).records.length === 2, 30_000, "two recorded delegations");
    } finally {
      child.kill("SIGTERM");
      await exited(child);
    }
    expect(stderr()).toMatch(/changelog-writer/);

    // The log is in the tasks key only with from_recorded: the new traffic makes the tasks stale.
    expect(status(dir, "changelog-writer:tasks")).toBe("will-run");
    const built = sabuild(dir, ["build", "changelog-writer:tasks"]);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const after = builtTasks(dir);
    const recorded = after.filter((t) => t.tags.includes("recorded"));
    expect(recorded.map((t) => t.prompt).sort()).toEqual(["Draft the changelog for the retry backoff rework; the deploy key is [redacted].", "Summarise the fixes merged since v0.9.0 for the release notes of the taskq scheduler."]);
    for (const t of recorded) expect(t.origin).toMatch(/^traffic:/);
    // The example's own tasks are all still there, the recorded ones on top.
    expect(after.filter((t) => !t.tags.includes("recorded"))).toEqual(before);
    expect(status(dir, "changelog-writer:tasks")).toBe("up-to-date");

    // The canary: neither the client's key (sent as its bearer token and in a prompt) nor its
    // header reaches any file of the project: store, logs, config cache.
    for (const secret of [CANARY_KEY, CANARY_HEADER]) expect(filesHolding(dir, secret), secret).toEqual([]);
  }, 300_000);
});
