import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetExceededError, type ChatRequest } from "../src/llm/types.js";
import { isHeldOut } from "../src/stages/tasks.js";
import type { Task } from "../src/stages/task-files.js";
import { startStandin, type Standin, type StandinReply } from "../src/standin/index.js";
import { err, ok } from "../src/result.js";
import { estimateJaccard, exactJaccard, minhash, NearDuplicateIndex, shingles } from "../src/tasks/minhash.js";
import { parseTextList, parseVerdicts } from "../src/tasks/parse.js";
import { expandTopicTree, spreadOrder } from "../src/tasks/topic-tree.js";
import { cleanTaskText, contentStems, rejectTask } from "../src/tasks/validate.js";
import { makeProject, sabuild, sabuildAsync as cli, sabuildJsonAsync as cliJson } from "./helpers.js";

const PAIRS: [string, string][] = [
  [
    "Run the unit tests in tests/test_api.py and summarize every failure with its traceback",
    "Run the unit tests in tests/test_api.py and summarize each failure with its traceback",
  ],
  [
    "Find where the retry logic for HTTP requests lives and explain how backoff is computed",
    "Find where the retry logic for HTTP requests lives and describe how the backoff delay is computed",
  ],
  [
    "Add a changelog entry for the new --json flag of the status command",
    "Write release notes for version 2.0 from the commits since the last tag",
  ],
  [
    "List every TODO comment in src/ with its file and line number, grouped by directory",
    "List every FIXME comment in src/ with its file and line number, grouped by author",
  ],
  ["Explain the build failure in CI", "Explain the build failure in CI"],
];

describe("MinHash", () => {
  it("estimates the Jaccard similarity of word-bigram sets closely", () => {
    const errors = PAIRS.map(([a, b]) => {
      const exact = exactJaccard(shingles(a), shingles(b));
      const estimate = estimateJaccard(minhash(shingles(a)), minhash(shingles(b)));
      expect(Math.abs(estimate - exact), `${a} / ${b}: exact ${exact}, estimate ${estimate}`).toBeLessThan(0.12);
      return Math.abs(estimate - exact);
    });
    expect(errors.reduce((s, e) => s + e, 0) / errors.length).toBeLessThan(0.06);
    // The estimate is the fraction of equal slots: 1 for identical texts, about 0 for unrelated ones.
    expect(estimateJaccard(minhash(shingles(PAIRS[4]![0])), minhash(shingles(PAIRS[4]![1])))).toBe(1);
    expect(estimateJaccard(minhash(shingles(PAIRS[2]![0])), minhash(shingles(PAIRS[2]![1])))).toBeLessThan(0.1);
  });

  it("drops near-duplicates at the threshold and keeps distinct tasks", () => {
    const long = "Read the pytest output in the last CI log, find the first failing test, open its source file and explain in two sentences why it fails";
    const oneWordChanged = long.replace("first failing", "earliest failing");
    const reworded = "Open the most recent CI log and tell me which test broke first and why";
    expect(exactJaccard(shingles(long), shingles(oneWordChanged))).toBeGreaterThan(0.85);
    expect(exactJaccard(shingles(long), shingles(reworded))).toBeLessThan(0.2);

    const index = new NearDuplicateIndex(0.8);
    index.add(long);
    expect(index.find(oneWordChanged)).toMatchObject({ of: long });
    expect(index.find(oneWordChanged)!.similarity).toBeGreaterThanOrEqual(0.8);
    expect(index.find(reworded)).toBeUndefined();
    // Case, spacing and punctuation do not make a task new.
    expect(index.find(`  ${long.toUpperCase()}!`)).toEqual({ of: long, similarity: 1 });
    // A stricter threshold keeps the one-word variant; a looser one drops more.
    expect(new NearDuplicateIndex(0.99).find(oneWordChanged)).toBeUndefined();
    const loose = new NearDuplicateIndex(0.5);
    loose.add(PAIRS[0]![0]);
    expect(exactJaccard(shingles(PAIRS[0]![0]), shingles(PAIRS[0]![1]))).toBeCloseTo(0.71, 2);
    expect(loose.find(PAIRS[0]![1])).toBeDefined();
    expect(loose.find(PAIRS[2]![0])).toBeUndefined();
  });
});

describe("reading lists out of model replies", () => {
  it("accepts plain, fenced and embedded JSON lists, and objects holding one", () => {
    expect(parseTextList('["a task", "another task"]')).toEqual(ok(["a task", "another task"]));
    expect(parseTextList('```json\n["fenced one", "fenced two"]\n```')).toEqual(ok(["fenced one", "fenced two"]));
    expect(parseTextList('Here are the subtopics:\n```\n["x y", "z w",]\n```\nHope this helps!')).toEqual(ok(["x y", "z w"]));
    expect(parseTextList('Sure! ["inline [brackets] inside", "second"] as asked.')).toEqual(ok(["inline [brackets] inside", "second"]));
    expect(parseTextList('{"tasks": [{"prompt": "obj one"}, {"task": "obj two"}]}')).toEqual(ok(["obj one", "obj two"]));
    expect(parseTextList('<think>maybe ["not this"]</think>["this"]')).toEqual(ok(["this"]));
  });

  it("accepts numbered and bulleted lists", () => {
    const reply = "Subtopics:\n1. **Flaky tests**: ones that fail sometimes\n2) Slow suites\n- \"Coverage gaps\"\n\nThat's all.";
    expect(parseTextList(reply)).toEqual(ok(["Flaky tests: ones that fail sometimes", "Slow suites", "Coverage gaps"]));
  });

  it("returns an error value for a reply with no list", () => {
    expect(parseTextList("I cannot help with that.")).toEqual(err('no JSON list or numbered list in the reply: "I cannot help with that."'));
    expect(parseTextList("")).toEqual(err("the reply is empty"));
    expect(parseTextList("[]").ok).toBe(false);
  });

  it("reads yes/no verdicts and checks their number", () => {
    expect(parseVerdicts("[true, false, true]", 3)).toEqual(ok([true, false, true]));
    expect(parseVerdicts('```json\n["yes", "No"]\n```', 2)).toEqual(ok([true, false]));
    expect(parseVerdicts("1. yes\n2. no", 2)).toEqual(ok([true, false]));
    expect(parseVerdicts("[true]", 2)).toEqual(err("1 verdicts for 2 tasks"));
    expect(parseVerdicts('["maybe"]', 1).ok).toBe(false);
  });
});

describe("validation of generated tasks", () => {
  const scope = contentStems("test-runner: runs the test suite, reads failures and explains them. Tools: Bash, Read. pytest tests/test_api.py");
  it("keeps sensible in-scope tasks and says why others go", () => {
    expect(rejectTask("Run the API tests and explain the first failure.", scope)).toBeUndefined();
    expect(rejectTask("", scope)).toBe("empty");
    expect(rejectTask("Run tests", scope)).toBe("too short");
    expect(rejectTask(`Explain the failing test ${"in detail ".repeat(300)}`, scope)).toBe("too long");
    expect(rejectTask("Here are five tasks for the test runner:", scope)).toBe("not a task");
    expect(rejectTask("Fix the failing test in [insert file name here]", scope)).toBe("placeholder");
    expect(rejectTask("Write a sonnet about autumn leaves and love", scope)).toBe("out of scope");
    expect(cleanTaskText('Task 3: "Rerun the flaky tests"')).toBe("Rerun the flaky tests");
  });
});

describe("topic tree", () => {
  it("of depth 2 and degree 3 asks 1 + 3 requests and has 9 leaves in tree order", async () => {
    const asked: string[][] = [];
    const tree = await expandTopicTree({
      depth: 2,
      degree: 3,
      ask: async (path) => {
        asked.push([...path]);
        // One extra and one repeated item: the tree keeps `degree` distinct ones.
        const base = path.length ? path.at(-1)! : "root";
        return ok([`${base}.a`, `${base}.a`, `${base}.b`, `${base}.c`, `${base}.d`]);
      },
    });
    expect(tree.requests).toBe(4);
    expect(asked).toEqual([[], ["root.a"], ["root.b"], ["root.c"]]);
    expect(tree.leaves.map((l) => l.path.join(" > "))).toEqual([
      "root.a > root.a.a", "root.a > root.a.b", "root.a > root.a.c",
      "root.b > root.b.a", "root.b > root.b.b", "root.b > root.b.c",
      "root.c > root.c.a", "root.c > root.c.b", "root.c > root.c.c",
    ]);
    expect(tree.warnings).toEqual([]);
    // A prefix of the spread order covers every top-level topic.
    expect(spreadOrder(tree.leaves).slice(0, 3).map((l) => l.path[0])).toEqual(["root.a", "root.b", "root.c"]);
  });

  it("keeps a node whose reply is malformed as a leaf, with a warning", async () => {
    const tree = await expandTopicTree({
      depth: 2,
      degree: 2,
      ask: async (path) => (path[0] === "b" ? parseTextList("Sorry, no.") : ok(path.length ? [`${path[0]}1`, `${path[0]}2`] : ["a", "b"])),
    });
    expect(tree.leaves.map((l) => l.path)).toEqual([["a", "a1"], ["a", "a2"], ["b"]]);
    expect(tree.warnings).toEqual(['topic "b": could not read subtopics (no JSON list or numbered list in the reply: "Sorry, no."); kept as a leaf']);
  });

  it("stops at a spent budget and keeps what it has", async () => {
    let n = 0;
    const tree = await expandTopicTree({
      depth: 3,
      degree: 2,
      ask: async () => {
        if (++n > 1) throw new BudgetExceededError("tasks.budget.tokens of 10 reached");
        return ok(["x", "y"]);
      },
    });
    expect(tree.stopped).toBe("tasks.budget.tokens of 10 reached");
    expect(tree.leaves.map((l) => l.path)).toEqual([["x"], ["y"]]);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the real CLI, with the OpenAI-compatible stand-in as the teacher.

const LEAVES = [
  ["database fixtures", "temporary directories"],
  ["retry timeouts", "mocked sockets"],
];
const TEMPLATES = [
  (t: string) => `Run pytest on tests/test_api.py and explain which ${t} case fails first and why.`,
  (t: string) => `The CI job for ${t} went red overnight; read the log and name the assertion that broke.`,
  (t: string) => `Rerun only the ${t} tests three times in a row and tell me whether any of them is flaky.`,
  (t: string) => `List every test touching ${t} together with how long each one takes to run.`,
  (t: string) => `Check that the ${t} tests still pass when run in random order, and report any ordering dependency.`,
  (t: string) => `Find the slowest test about ${t} and suggest one concrete way to speed it up.`,
];
const USER_TASKS = [
  "Run the whole test suite and summarize the failures in three bullet points.",
  "Explain why tests/test_api.py::test_login fails on a clean checkout.",
  "Which tests were skipped in the last run, and why were they skipped?",
];

/**
 * Answers topic requests with fixed subtopics (in a fenced block) and task requests with
 * templated tasks (a numbered list for one topic, JSON for the others). "mocked sockets" gets
 * a reply with no list, and one task repeats a user task nearly word for word.
 */
function teacherPolicy(request: ChatRequest): StandinReply {
  const text = request.messages.at(-1)?.content ?? "";
  if (text.includes("For each numbered task below")) {
    const numbered = text.split("\n").filter((l) => /^\d+\. /.test(l));
    return { content: JSON.stringify(numbered.map((l) => !l.includes("flaky"))) };
  }
  const topics = /List (\d+) distinct subtopics of (?:the topic "([^"]+)"|the work)/.exec(text);
  if (topics) {
    const n = Number(topics[1]);
    const parent = topics[2];
    const names = parent === undefined ? ["fixtures and setup", "network behaviour"] : LEAVES[parent === "fixtures and setup" ? 0 : 1]!;
    return { content: "Here you go:\n```json\n" + JSON.stringify(names.slice(0, n)) + "\n```" };
  }
  const tasks = /Topic: .* > ([^>\n]+)\nWrite (\d+) distinct tasks/.exec(text);
  if (!tasks) return { content: "unexpected request" };
  const [leaf, n] = [tasks[1]!, Number(tasks[2])];
  if (leaf === "mocked sockets") return { content: "I would rather not write tasks about sockets." };
  const already = (text.match(/^- /gm) ?? []).length;
  const out = Array.from({ length: n }, (_, i) => TEMPLATES[(already + i) % TEMPLATES.length]!(leaf));
  if (leaf === "database fixtures" && already === 0) out[2] = `${USER_TASKS[0]!.slice(0, -1)}, please.`;
  if (leaf === "retry timeouts") return { content: out.map((t, i) => `${i + 1}. ${t}`).join("\n") };
  return { content: JSON.stringify(out) };
}

function project(opts: { count: number; holdout?: number; budget?: string; recipe?: string; scopeCheck?: boolean }): string {
  return makeProject({
    "subagents.yaml": [
      "version: 1",
      "subagents:",
      "  tester:",
      "    until: tasks",
      "    source:",
      "      inline:",
      "        description: Runs the Python test suite and explains failing tests",
      "        prompt: You run pytest in the workspace, read failures and explain their cause briefly.",
      "        tools: [Bash, Read]",
      "    teacher:",
      "      base_url: ${TEST_TEACHER_URL}",
      "      api_key: ${TEST_TEACHER_KEY}",
      "      model: standin-teacher",
      "      concurrency: 1",
      "    sandbox:",
      `      recipe: ${opts.recipe ?? "ws"}`,
      "    tasks:",
      "      from: tasks.jsonl",
      `      count: ${opts.count}`,
      `      holdout: ${opts.holdout ?? 0.3}`,
      `      generate: {depth: 2, degree: 2, per_leaf: 3${opts.scopeCheck ? ", scope_check: true" : ""}}`,
      ...(opts.budget ? [`      budget: ${opts.budget}`] : []),
      "",
    ].join("\n"),
    "tasks.jsonl": USER_TASKS.map((t) => JSON.stringify({ prompt: t })).join("\n") + "\n",
    // A project recipe whose workspace the teacher is shown (the sandbox stage never runs here).
    "recipes/ws/recipe.yaml": "description: test workspace\ntools: [Bash, Read]\nworkdir: /workspace\nuser: agent\n",
    "recipes/ws/Dockerfile": "FROM debian:bookworm-slim\n",
    "recipes/ws/workspace/tests/test_api.py": "def test_login():\n    assert False\n",
    "recipes/ws/workspace/src/api.py": "def login():\n    pass\n",
    ...(opts.recipe ? { [`recipes/${opts.recipe}/workspace/lib/widgets.py`]: "WIDGETS = []\n" } : {}),
  });
}

interface Outputs {
  train: Task[];
  heldout: Task[];
  summary: { total: number; user: number; generated: number; generation: null | Record<string, any> };
  topics: string[];
}

async function outputs(dir: string, env: Record<string, string>): Promise<Outputs> {
  const { tree } = await cliJson<{ tree: string }>(dir, ["artifacts", "tester:tasks"], env);
  const jsonl = (f: string): Task[] => readFileSync(join(tree, f), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Task);
  const topics = existsSync(join(tree, "topics.json")) ? (JSON.parse(readFileSync(join(tree, "topics.json"), "utf8")) as string[]) : [];
  return { train: jsonl("tasks.jsonl"), heldout: jsonl("heldout.jsonl"), summary: JSON.parse(readFileSync(join(tree, "summary.json"), "utf8")), topics };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("sabuild build with a teacher", () => {
  let standin: Standin;
  let env: Record<string, string>;
  const KEY = "sk-test-secret-4242";
  beforeAll(async () => {
    standin = await startStandin({ policy: teacherPolicy, apiKey: KEY });
    env = { TEST_TEACHER_URL: standin.url, TEST_TEACHER_KEY: KEY };
  });
  afterAll(async () => standin.close());

  it("generates count minus the user's tasks, keeps the user's first, and rebuilds without a request", async () => {
    const dir = project({ count: 12 });
    const before = standin.stats.requests;
    const build = await cli(dir, ["build"], env);
    expect(build.code, build.stderr).toBe(0);
    const sent = standin.stats.requests - before;
    const out = await outputs(dir, env);
    const all = [...out.train, ...out.heldout];
    expect(out.summary).toMatchObject({ total: 12, user: 3, generated: 9 });
    expect(out.summary.generation).toMatchObject({ wanted: 9, kept: 9, topics: 4, stopped: null, requests: { sent, cached: 0 } });
    // 1 + 2 topic requests, then the leaves: "mocked sockets" gives nothing and one task repeats
    // a user task, so a second round asks one leaf again.
    expect(sent).toBe(3 + 4 + 1);
    expect(out.summary.generation!.near_duplicates).toBe(1);
    expect(out.summary.generation!.warnings).toEqual([
      expect.stringMatching(/^topic "tester > network behaviour > mocked sockets": could not read tasks \(no JSON list/),
    ]);
    expect(out.topics).toEqual([
      "tester > fixtures and setup > database fixtures",
      "tester > fixtures and setup > temporary directories",
      "tester > network behaviour > retry timeouts",
      "tester > network behaviour > mocked sockets",
    ]);
    // User tasks first, in order; generated ones carry their topic.
    const byPrompt = new Map(all.map((t) => [t.prompt, t]));
    for (const [i, prompt] of USER_TASKS.entries()) expect(byPrompt.get(prompt)).toMatchObject({ origin: `tasks.jsonl:${i + 1}` });
    const generated = all.filter((t) => t.origin.startsWith("generated:"));
    expect(generated).toHaveLength(9);
    for (const t of generated) {
      const topic = t.origin.slice("generated:".length);
      expect(t.tags).toEqual(["generated", `topic:${topic}`]);
      expect(t.prompt).toContain(topic.split(" > ").at(-1));
      expect(t.id).toMatch(/^g-[0-9a-f]{12}$/);
    }
    expect(new Set(generated.map((t) => t.origin)).size).toBe(3);
    expect(out.train.findIndex((t) => t.origin.startsWith("generated:"))).toBeGreaterThan(out.train.findLastIndex((t) => t.origin.startsWith("tasks.jsonl")));
    // The held-out split is the text hash's.
    for (const t of out.heldout) expect(isHeldOut(t.prompt, 0.3)).toBe(true);
    for (const t of out.train) expect(isHeldOut(t.prompt, 0.3)).toBe(false);
    // Prompts carry the subagent and its workspace listing; the key went only into the header.
    const body = JSON.stringify(standin.stats.bodies.at(-1));
    expect(body).toContain("tests/test_api.py");
    expect(body).toContain("Runs the Python test suite");
    expect(standin.stats.authorizations.at(-1)).toBe(`Bearer ${KEY}`);
    for (const file of filesUnder(dir)) expect(readFileSync(file, "utf8").includes(KEY), file).toBe(false);

    // A second build is up to date and asks nothing.
    const again = await cliJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"], env);
    expect(again.stages.find((s) => s.id === "tester:tasks")!.status).toBe("up-to-date");
    const second = await cli(dir, ["build"], env);
    expect(second.code, second.stderr).toBe(0);
    expect(standin.stats.requests - before).toBe(sent);

    // A new held-out fraction reruns the stage from the response cache: same tasks, no request,
    // and what was held out stays held out.
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("holdout: 0.3", "holdout: 0.5"));
    const third = await cli(dir, ["build"], env);
    expect(third.code, third.stderr).toBe(0);
    expect(standin.stats.requests - before).toBe(sent);
    const rerun = await outputs(dir, env);
    expect(rerun.summary.generation).toMatchObject({ kept: 9, requests: { sent: 0, cached: sent } });
    expect(new Set([...rerun.train, ...rerun.heldout].map((t) => t.id))).toEqual(new Set(all.map((t) => t.id)));
    for (const t of out.heldout) expect(rerun.heldout.map((x) => x.id)).toContain(t.id);
  });

  it("keys the teacher's model and endpoint template, never its key", async () => {
    const dir = project({ count: 5 });
    expect((await cli(dir, ["build"], env)).code).toBe(0);
    const plan = async (e: Record<string, string>) =>
      (await cliJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"], e)).stages.find((s) => s.id === "tester:tasks")!.status;
    expect(await plan({ ...env, TEST_TEACHER_KEY: "sk-another-key" })).toBe("up-to-date");
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("model: standin-teacher", "model: standin-teacher-2"));
    expect(await plan(env)).toBe("will-run");
    const explain = await cliJson<{ fields: { field: string; changed: boolean }[] }>(dir, ["explain", "tester:tasks"], env);
    expect(explain.fields.filter((f) => f.changed).map((f) => f.field)).toEqual(["params.generate.teacher.model"]);
  });

  it("lists the recipe's workspace seed in the prompts, and a new file there makes the tasks stale", async () => {
    const dir = project({ count: 5, recipe: "mine" });
    writeFileSync(join(dir, "recipes/mine/recipe.yaml"), "description: a test recipe\n", { flag: "w" });
    expect((await cli(dir, ["build", "tester:tasks"], env)).code).toBe(0);
    expect(JSON.stringify(standin.stats.bodies.at(-1))).toContain("lib/widgets.py");
    const plan = async () => (await cliJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"], env)).stages.find((s) => s.id === "tester:tasks")!.status;
    expect(await plan()).toBe("up-to-date");
    writeFileSync(join(dir, "recipes/mine/workspace/lib/gadgets.py"), "");
    expect(await plan()).toBe("will-run");
    const explain = await cliJson<{ fields: { field: string; changed: boolean }[] }>(dir, ["explain", "tester:tasks"], env);
    expect(explain.fields.filter((f) => f.changed).map((f) => f.field)).toEqual(["params.generate.workspace.files"]);
  });

  it("asks the teacher to check the scope of its tasks when scope_check is on", async () => {
    const dir = project({ count: 12, scopeCheck: true });
    const before = standin.stats.requests;
    const build = await cli(dir, ["build"], env);
    expect(build.code, build.stderr).toBe(0);
    const out = await outputs(dir, env);
    const g = out.summary.generation!;
    expect(out.summary.generated).toBe(9);
    expect(g.rejected["out of scope (teacher)"]).toBeGreaterThanOrEqual(2);
    expect(g.requests.sent).toBe(standin.stats.requests - before);
    const scopeChecks = standin.stats.bodies.slice(before).filter((b) => JSON.stringify(b).includes("For each numbered task below"));
    expect(scopeChecks.length).toBeGreaterThanOrEqual(3);
    expect(scopeChecks.every((b) => b.temperature === 0)).toBe(true);
    for (const t of [...out.train, ...out.heldout]) expect(t.prompt).not.toContain("flaky");
  });

  it("stops at the token budget and keeps what was generated", async () => {
    const dir = project({ count: 40, budget: "{tokens: 2500}" });
    const before = standin.stats.requests;
    const build = await cli(dir, ["build"], env);
    expect(build.code, build.stderr).toBe(0);
    const out = await outputs(dir, env);
    const g = out.summary.generation!;
    expect(g.stopped).toMatch(/^tasks\.budget\.tokens of 2500 reached/);
    expect(out.summary.generated).toBeGreaterThan(0);
    expect(out.summary.generated).toBeLessThan(37);
    expect(out.summary.total).toBe(3 + out.summary.generated);
    expect(g.requests.sent).toBe(standin.stats.requests - before);
    expect(build.stderr).toMatch(/warning: tasks\.budget\.tokens of 2500 reached.*kept \d+ of the 37 tasks wanted/);

    // A rerun replays the paid-for replies, charging them again, and stops at the same place.
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("holdout: 0.3", "holdout: 0.4"));
    const sent = standin.stats.requests;
    expect((await cli(dir, ["build"], env)).code).toBe(0);
    expect(standin.stats.requests).toBe(sent);
    const rerun = await outputs(dir, env);
    expect(rerun.summary.generation).toMatchObject({ stopped: g.stopped, kept: g.kept, requests: { sent: 0, cached: g.requests.sent } });
    const ids = (o: Outputs) => [...o.train, ...o.heldout].map((t) => t.id).sort();
    expect(ids(rerun)).toEqual(ids(out));
  });

  it("needs no teacher when the user wrote count tasks or more", async () => {
    const dir = project({ count: 3 });
    const before = standin.stats.requests;
    const r = await cli(dir, ["build"], { TEST_TEACHER_URL: "", TEST_TEACHER_KEY: "" });
    expect(r.code, r.stderr).toBe(0);
    expect(standin.stats.requests).toBe(before);
    const out = await outputs(dir, {});
    expect(out.summary).toMatchObject({ total: 3, user: 3, generated: 0, generation: null });
    const explain = await cliJson<{ fields: { field: string }[] }>(dir, ["explain", "tester:tasks"], {});
    expect(explain.fields.map((f) => f.field).filter((f) => f.startsWith("params.generate"))).toEqual([]);

    // count compares to the tasks written: a repeated line counts there, and is dropped after.
    appendFileSync(join(dir, "tasks.jsonl"), `${JSON.stringify(USER_TASKS[1])}\n`);
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("count: 3", "count: 4"));
    const dup = await cli(dir, ["build"], { TEST_TEACHER_URL: "", TEST_TEACHER_KEY: "" });
    expect(dup.code, dup.stderr).toBe(0);
    expect(dup.stderr).toContain("warning: 3 distinct tasks of tasks.count 4: duplicates do not count");
    expect((await outputs(dir, {})).summary).toMatchObject({ total: 3, user: 3, generated: 0, duplicates_dropped: 1 });
    expect(standin.stats.requests).toBe(before);
  });

  it("says how to build without a teacher when one is needed and its key is not set", async () => {
    const dir = project({ count: 10 });
    const r = sabuild(dir, ["build"], { TEST_TEACHER_URL: standin.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/subagents\.yaml:19:\d+: subagents\.tester\.tasks\.count: 3 tasks are written of 10 wanted/);
    expect(r.stderr).toContain("TEST_TEACHER_KEY is not set");
    expect(r.stderr).toContain("hint: set tasks.count to 3 to build with your tasks only");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
