import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatRequest } from "../src/llm/types.js";
import type { Task } from "../src/stages/task-files.js";
import { startStandin, type Standin, type StandinReply } from "../src/standin/index.js";
import { spreadOverRepos } from "../src/tasks/per-repo.js";
import { teacherAsked } from "../src/stages/task-files.js";
import { makeProject, sabuildAsync as cli, sabuildJsonAsync as cliJson } from "./helpers.js";
import { commitFiles, makeRepo } from "./support/git.js";

/**
 * sandbox.repos with a teacher: tasks written per repository from that repository's files at
 * its commit, each task bound to its repository's environment; a branch that moves makes only
 * that repository's tasks new.
 */

describe("spreading teacher tasks over repositories", () => {
  const repos = ["a", "b", "c"].map((r) => ({ repo: r, commit: "main" }));
  it("gives per_repo to each, or splits what is missing with the remainder first", () => {
    expect(spreadOverRepos(repos, 10, 4).map((q) => q.count)).toEqual([4, 4, 4]);
    expect(spreadOverRepos(repos, 10, undefined).map((q) => [q.env.repo, q.count])).toEqual([["a", 4], ["b", 3], ["c", 3]]);
    // Fewer tasks than repositories: the last ones get none and are not asked.
    expect(spreadOverRepos(repos, 2, undefined).map((q) => q.env.repo)).toEqual(["a", "b"]);
  });
  it("asks the teacher for per_repo whatever the user wrote, else only below tasks.count", () => {
    expect(teacherAsked(50, 10, 2, 3)).toBe(true);
    expect(teacherAsked(50, 10, 2, undefined)).toBe(false);
    expect(teacherAsked(5, 10, 2, undefined)).toBe(true);
    expect(teacherAsked(50, 10, 0, 3)).toBe(false);
  });
});

/** Topics are fixed; each task names the first Python module the request lists, so a task shows which workspace the teacher was shown. */
function policy(request: ChatRequest): StandinReply {
  const text = request.messages.at(-1)?.content ?? "";
  const topics = /List (\d+) distinct subtopics of (?:the topic "([^"]+)"|the work)/.exec(text);
  if (topics) return { content: JSON.stringify(topics[2] ? ["failing tests", "slow tests"] : ["unit tests"]).replace(/^/, "") };
  const asked = /Topic: .* > ([^>\n]+)\nWrite (\d+) distinct tasks/.exec(text);
  if (!asked) return { content: "unexpected request" };
  const module = /^ {2}(src\/\w+\.py)$/m.exec(text)?.[1] ?? "nothing.py";
  const [leaf, n] = [asked[1]!, Number(asked[2])];
  const verbs = ["Run the tests that cover", "Explain which test of", "Time the tests for"];
  return { content: JSON.stringify(Array.from({ length: n }, (_, i) => `${verbs[i % verbs.length]} ${module} and report the ${leaf} you find there.`)) };
}

describe("sabuild build with sandbox.repos and a teacher", () => {
  let standin: Standin;
  let env: Record<string, string>;
  beforeAll(async () => {
    standin = await startStandin({ policy, apiKey: "sk-repos" });
    env = { TEST_TEACHER_URL: standin.url, TEST_TEACHER_KEY: "sk-repos" };
  });
  afterAll(async () => standin.close());

  function project(perRepo: string): string {
    const dir = makeProject({
      "subagents.yaml": [
        "version: 1",
        "subagents:",
        "  tester:",
        "    until: tasks",
        "    source:",
        "      inline:",
        "        description: Runs the Python test suite and explains failing tests",
        "        prompt: You run pytest in the workspace and explain failures.",
        "        tools: [Bash, Read]",
        "    teacher: {base_url: '${TEST_TEACHER_URL}', api_key: '${TEST_TEACHER_KEY}', model: standin-teacher, concurrency: 1}",
        "    sandbox:",
        "      recipe: python-repo",
        "      setup: [pip --version]",
        "      repos:",
        "        - repos/alpha main",
        "        - {url: repos/beta, commit: main, setup: [python3 -V]}",
        "    tasks:",
        "      seed: [Run the whole test suite and summarize the failures.]",
        "      holdout: 0",
        `      ${perRepo}`,
        "      generate: {depth: 2, degree: 2, per_leaf: 2}",
        "",
      ].join("\n"),
    });
    makeRepo(join(dir, "repos/alpha"), { "src/parser.py": "def parse(s):\n    return s\n", "tests/test_parser.py": "def test_parse():\n    assert True\n" });
    makeRepo(join(dir, "repos/beta"), { "src/billing.py": "def total(xs):\n    return sum(xs)\n", "tests/test_billing.py": "def test_total():\n    assert True\n" });
    return dir;
  }

  async function tasks(dir: string): Promise<{ tasks: Task[]; summary: { generation: Record<string, any> } }> {
    const { tree } = await cliJson<{ tree: string }>(dir, ["artifacts", "tester:tasks"], env);
    const read = readFileSync(join(tree, "tasks.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Task);
    return { tasks: read, summary: JSON.parse(readFileSync(join(tree, "summary.json"), "utf8")) };
  }

  it("writes per_repo tasks for each repository from its own files, each bound to that repository", async () => {
    const dir = project("per_repo: 4");
    const first = standin.stats.requests;
    const build = await cli(dir, ["build"], env);
    // The two repositories are alike in shape: each needs the same number of teacher requests.
    const perRepo = (standin.stats.requests - first) / 2;
    expect(build.code, build.stderr).toBe(0);
    const out = await tasks(dir);
    const generated = out.tasks.filter((t) => t.tags.includes("generated"));
    expect(generated).toHaveLength(8);
    const alpha = generated.filter((t) => t.tags.includes("repo:alpha"));
    const beta = generated.filter((t) => t.tags.includes("repo:beta"));
    expect([alpha.length, beta.length]).toEqual([4, 4]);
    // Each repository's tasks name its own files: the teacher was shown that repository.
    for (const t of alpha) expect(t.prompt).toContain("src/parser.py");
    for (const t of beta) expect(t.prompt).toContain("src/billing.py");
    // Bound to the repository on the recipe, with sandbox.setup then the repository's own setup.
    expect(alpha[0]!.env).toEqual({ repo: "repos/alpha", commit: "main", recipe: "python-repo", setup: ["pip --version"] });
    expect(beta[0]!.env).toEqual({ repo: "repos/beta", commit: "main", recipe: "python-repo", setup: ["pip --version", "python3 -V"] });
    // The user's task keeps the subagent's own environment.
    expect(out.tasks.find((t) => t.origin === "seed[0]")!.env).toBeUndefined();
    expect(out.summary.generation.repos).toEqual([
      { repo: expect.stringMatching(/^repos\/alpha@[0-9a-f]{12}$/), wanted: 4, kept: 4, topics: 2 },
      { repo: expect.stringMatching(/^repos\/beta@[0-9a-f]{12}$/), wanted: 4, kept: 4, topics: 2 },
    ]);

    // A new commit on beta's branch: the tasks are stale, only beta's requests are new, and
    // alpha's tasks stay exactly as they were.
    const plan = async () => (await cliJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"], env)).stages.find((s) => s.id === "tester:tasks")!.status;
    expect(await plan()).toBe("up-to-date");
    commitFiles(join(dir, "repos/beta"), { "src/invoice.py": "X = 1\n" }, "second");
    expect(await plan()).toBe("will-run");
    const explain = await cliJson<{ fields: { field: string; changed: boolean }[] }>(dir, ["explain", "tester:tasks"], env);
    expect(explain.fields.filter((f) => f.changed).map((f) => f.field)).toEqual(["params.generate.repos"]);
    const before = standin.stats.requests;
    const rebuild = await cli(dir, ["build"], env);
    expect(rebuild.code, rebuild.stderr).toBe(0);
    const again = await tasks(dir);
    // Beta's workspace listing changed (src/invoice.py), so every prompt of beta's is new; alpha's come from the cache.
    expect(standin.stats.requests - before).toBe(perRepo);
    expect(again.tasks.filter((t) => t.tags.includes("repo:alpha")).map((t) => t.id)).toEqual(alpha.map((t) => t.id));
    expect(again.summary.generation.repos[1].repo).not.toBe(out.summary.generation.repos[1].repo);
  });

  it("spreads tasks.count over the repositories when per_repo is not set", async () => {
    const dir = project("count: 6");
    const build = await cli(dir, ["build"], env);
    expect(build.code, build.stderr).toBe(0);
    const out = await tasks(dir);
    // One seed task, five generated: three for alpha, two for beta.
    expect(out.tasks.filter((t) => t.tags.includes("repo:alpha"))).toHaveLength(3);
    expect(out.tasks.filter((t) => t.tags.includes("repo:beta"))).toHaveLength(2);
  });

  it("names the repository and its commit when the commit does not exist", async () => {
    const dir = project("per_repo: 1");
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("repos/alpha main", "repos/alpha nosuchbranch"));
    const r = await cli(dir, ["plan"], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("nosuchbranch");
    expect(r.stderr).toContain("sandbox.repos");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
