import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Problem } from "../src/errors.js";
import { countTaskEntries, readTaskFile, readUserTasks, taskSourceFiles, type SourcedTask } from "../src/stages/task-files.js";
import { detectFormat } from "../src/tasks/formats/index.js";
import { makeProject, sabuild, sabuildJson } from "./helpers.js";
import { harborFiles, tb1Files } from "./support/task-dirs.js";

/**
 * Each format of tasks.from, written here as its datasets write it, imported to the shapes of
 * src/envs/types.ts; then malformed input (every problem listed, the rest imported) and one
 * build of the tasks stage through the CLI.
 */

const F2P = ["tests/test_core.py::test_fix", "tests/test_core.py::test_fix_more[a-b]"];
const P2P = ["tests/test_other.py::test_ok"];
const TEST_PATCH = "diff --git a/tests/test_core.py b/tests/test_core.py\n--- a/tests/test_core.py\n+++ b/tests/test_core.py\n@@ -1 +1,2 @@\n+def test_fix(): pass\n";

const sweInstance = (over: Record<string, unknown> = {}) => ({
  instance_id: "psf__requests-1234",
  repo: "psf/requests",
  base_commit: "0123abcd",
  problem_statement: "Session.get ignores timeouts.",
  hints_text: "look at adapters.py",
  test_patch: TEST_PATCH,
  patch: "diff --git a/requests/adapters.py b/requests/adapters.py\n",
  FAIL_TO_PASS: JSON.stringify(F2P),
  PASS_TO_PASS: JSON.stringify(P2P),
  environment_setup_commit: "feedbeef",
  version: "2.0",
  ...over,
});

const byId = (tasks: SourcedTask[]): Record<string, SourcedTask> => Object.fromEntries(tasks.map((t) => [t.id, t]));
const brief = (ps: Problem[]) => ps.map((p) => ({ file: p.file, line: p.line, keyPath: p.keyPath, message: p.message }));

describe("SWE-bench instances", () => {
  it("import a .json array with JSON-encoded test lists: the problem statement as prompt, repo@base_commit or the image, the tests as verifier", async () => {
    const dir = makeProject({
      "swe.json": JSON.stringify([sweInstance(), sweInstance({ instance_id: "org/odd id!", image_name: "swebench/sweb.eval.x86_64.odd:latest", patch: undefined })], null, 2),
    });
    expect(detectFormat(dir, "swe.json")).toBe("swe-bench");
    const { tasks, problems } = await readTaskFile(dir, "swe.json");
    expect(problems).toEqual([]);
    const [repoTask, imageTask] = tasks;
    expect(repoTask).toEqual({
      id: "psf__requests-1234",
      prompt: "Session.get ignores timeouts.",
      meta: { format: "swe-bench", repo: "psf/requests", base_commit: "0123abcd", hints_text: "look at adapters.py", environment_setup_commit: "feedbeef", version: "2.0" },
      env: { repo: "https://github.com/psf/requests.git", commit: "0123abcd" },
      verify: {
        command:
          'for f in tests/test_core.py; do git checkout 0123abcd -- "$f" 2>/dev/null || git checkout HEAD -- "$f" 2>/dev/null || rm -f "$f"; done && git apply -v /tmp/sabuild/test.patch && "$(command -v python || command -v python3)" -m pytest -rA tests/test_core.py tests/test_other.py',
        files: [{ path: "/tmp/sabuild/test.patch", content: TEST_PATCH, encoding: "utf8" }],
        timeout_s: 1800,
        success: { kind: "tests", fail_to_pass: F2P, pass_to_pass: P2P, log_format: "pytest" },
      },
      solution: { command: "git apply -v /tmp/sabuild/gold.patch", files: [{ path: "/tmp/sabuild/gold.patch", content: expect.stringContaining("adapters.py"), encoding: "utf8" }], timeout_s: 600 },
      origin: "swe.json:2",
    });
    // The hints stay out of the prompt.
    expect(repoTask!.prompt).not.toContain("adapters.py");
    expect(imageTask).toMatchObject({ id: "org-odd-id-", env: { image: "swebench/sweb.eval.x86_64.odd:latest", workdir: "/testbed" }, origin: expect.stringMatching(/^swe\.json:\d+$/) });
    expect(imageTask!.solution).toBeUndefined();
    expect(Number(imageTask!.origin.split(":")[1])).toBeGreaterThan(2);
  });

  it("import JSONL with plain lists, a local repository path and a URL", async () => {
    const dir = makeProject({
      "repos/demo/README": "a checkout\n",
      "swe.jsonl": [
        JSON.stringify(sweInstance({ instance_id: "demo-1", repo: "repos/demo", FAIL_TO_PASS: F2P, PASS_TO_PASS: [] })),
        "",
        JSON.stringify(sweInstance({ instance_id: "demo-2", repo: "https://example.com/x.git", FAIL_TO_PASS: ["test_a (tests.TestA)"], PASS_TO_PASS: undefined, test_patch: "" })),
      ].join("\n"),
    });
    expect(detectFormat(dir, "swe.jsonl")).toBe("swe-bench");
    const { tasks, problems } = await readTaskFile(dir, "swe.jsonl");
    expect(problems).toEqual([]);
    const t = byId(tasks);
    expect(t["demo-1"]).toMatchObject({ env: { repo: "repos/demo", commit: "0123abcd" }, origin: "swe.jsonl:1", verify: { success: { kind: "tests", fail_to_pass: F2P, pass_to_pass: [] } } });
    expect(t["demo-1"]!.verify!.command).toMatch(/ -m pytest -rA tests\/test_core\.py$/);
    // A Django-style id names no file: pytest runs its own collection; no test patch, nothing to apply.
    expect(t["demo-2"]).toMatchObject({ env: { repo: "https://example.com/x.git" }, origin: "swe.jsonl:3", verify: { command: '"$(command -v python || command -v python3)" -m pytest -rA', files: [], success: { fail_to_pass: ["test_a (tests.TestA)"], pass_to_pass: [] } } });
    expect(countTaskEntries(dir, { tasks: { from: ["swe.jsonl"], seed: [] } })).toBe(2);
  });

  it("list every malformed instance, located, and import the others", async () => {
    const dir = makeProject({
      "swe.jsonl": [
        JSON.stringify(sweInstance({ instance_id: "ok-1" })),
        JSON.stringify(sweInstance({ instance_id: "bad-1", problem_statement: undefined, FAIL_TO_PASS: "not a list" })),
        JSON.stringify(sweInstance({ instance_id: "bad-2", PASS_TO_PASS: { a: 1 } })),
        "{oops",
        JSON.stringify(sweInstance({ instance_id: "ok-2" })),
      ].join("\n"),
      "swe.json": JSON.stringify([sweInstance({ instance_id: "a" }), sweInstance({ instance_id: "b", repo: undefined })], null, 1),
    });
    const jsonl = await readTaskFile(dir, "swe.jsonl");
    expect(jsonl.tasks.map((t) => t.id)).toEqual(["ok-1", "ok-2"]);
    expect(brief(jsonl.problems)).toEqual([
      { file: "swe.jsonl", line: 2, keyPath: ["problem_statement"], message: 'missing "problem_statement"' },
      { file: "swe.jsonl", line: 2, keyPath: ["FAIL_TO_PASS"], message: '"FAIL_TO_PASS" is a string but not a JSON-encoded list' },
      { file: "swe.jsonl", line: 3, keyPath: ["PASS_TO_PASS"], message: '"PASS_TO_PASS" must be a list of test ids' },
      { file: "swe.jsonl", line: 4, keyPath: [], message: expect.stringMatching(/^not valid JSON/) },
    ]);
    const json = await readTaskFile(dir, "swe.json");
    expect(json.tasks.map((t) => t.id)).toEqual(["a"]);
    const lines = readFileSync(join(dir, "swe.json"), "utf8").split("\n");
    const second = lines.findIndex((l, i) => i > 1 && l === " {") + 1;
    expect(brief(json.problems)).toEqual([{ file: "swe.json", line: second, keyPath: [1, "repo"], message: 'missing "repo"' }]);
  });
});

describe("Harbor and Terminal-Bench task directories", () => {
  it("import a Harbor task: instruction.md, the environment directory with its limits, tests/ under /tests/, the reward file, solution/", async () => {
    const dir = makeProject({ ...harborFiles("tasks/hello-world"), "tasks/hello-world/tests/data.bin": "" });
    writeFileSync(join(dir, "tasks/hello-world/tests/data.bin"), Buffer.from([0, 1, 2, 255]));
    chmodSync(join(dir, "tasks/hello-world/tests/test.sh"), 0o755);
    expect(detectFormat(dir, "tasks/hello-world")).toBe("harbor");
    const { tasks, problems } = await readTaskFile(dir, "tasks/hello-world");
    expect(problems).toEqual([]);
    expect(tasks).toEqual([
      {
        id: "hello-world",
        prompt: "Write hello to /app/out.txt\n",
        tags: ["files", "bash"],
        meta: { format: "harbor", difficulty: "easy", tags: ["files", "bash"], agent_timeout_s: 300 },
        env: { dockerfile: "tasks/hello-world/environment", limits: { cpus: 2, memory_mb: 4096, network: "bridge" } },
        verify: {
          command: "bash /tests/test.sh",
          user: "root",
          files: [
            { path: "/tests/data.bin", content: Buffer.from([0, 1, 2, 255]).toString("base64"), encoding: "base64" },
            { path: "/tests/test.sh", content: expect.stringContaining("reward.txt"), encoding: "utf8", mode: 0o755 },
            { path: "/tests/test_out.py", content: expect.stringContaining("def test_out"), encoding: "utf8" },
          ],
          timeout_s: 120,
          success: { kind: "reward_file", dir: "/logs/verifier" },
        },
        solution: { user: "root", command: "bash /solution/solve.sh", files: [{ path: "/solution/solve.sh", content: "echo hello > /app/out.txt\n", encoding: "utf8" }], timeout_s: 300 },
        origin: "tasks/hello-world/task.toml",
      },
    ]);
  });

  it("import a Harbor task on a docker_image, without limits or solution", async () => {
    const files = harborFiles("t", 'version = "1.0"\n[environment]\ndocker_image = "ghcr.io/x/task:1"\n');
    delete files["t/environment/Dockerfile"];
    delete files["t/solution/solve.sh"];
    const dir = makeProject(files);
    const { tasks, problems } = await readTaskFile(dir, "t");
    expect(problems).toEqual([]);
    expect(tasks[0]).toMatchObject({ id: "t", env: { image: "ghcr.io/x/task:1" }, verify: { timeout_s: 600 } });
    expect(tasks[0]!.env).not.toHaveProperty("limits");
    expect(tasks[0]!.solution).toBeUndefined();
  });

  it("import a Terminal-Bench 1 task: task.yaml, its Dockerfile, run-tests.sh and tests/ under /tests/, exit code", async () => {
    const dir = makeProject(tb1Files("tb/count-lines"));
    expect(detectFormat(dir, "tb/count-lines")).toBe("terminal-bench");
    const { tasks, problems } = await readTaskFile(dir, "tb/count-lines");
    expect(problems).toEqual([]);
    expect(tasks).toEqual([
      {
        id: "count-lines",
        prompt: "Count the lines of /data/in.txt",
        tags: ["counting"],
        meta: { format: "terminal-bench", difficulty: "medium", agent_timeout_s: 180 },
        env: { dockerfile: "tb/count-lines" },
        verify: {
          command: "TEST_DIR=/tests bash /tests/run-tests.sh",
          user: "root",
          files: [
            { path: "/tests/test_outputs.py", content: "def test_count(): pass\n", encoding: "utf8" },
            { path: "/tests/run-tests.sh", content: expect.stringContaining("pytest"), encoding: "utf8", mode: 0o755 },
          ],
          timeout_s: 30,
          success: { kind: "exit_code" },
        },
        solution: { user: "root", command: "bash /solution/solution.sh", files: [{ path: "/solution/solution.sh", content: expect.stringContaining("wc -l"), encoding: "utf8" }], timeout_s: 180 },
        origin: "tb/count-lines/task.yaml",
      },
    ]);
  });

  it("import a directory of task directories, sorted by name, mixing Harbor and Terminal-Bench 1", async () => {
    const dir = makeProject({ ...harborFiles("bench/zeta"), ...tb1Files("bench/alpha"), ...harborFiles("bench/mid"), "bench/README.md": "a dataset\n", "bench/notes/x.txt": "not a task\n" });
    expect(detectFormat(dir, "bench")).toBe("task-dirs");
    const { tasks, problems } = await readTaskFile(dir, "bench");
    expect(problems).toEqual([]);
    expect(tasks.map((t) => [t.id, t.meta!.format])).toEqual([["alpha", "terminal-bench"], ["mid", "harbor"], ["zeta", "harbor"]]);
    expect(countTaskEntries(dir, { tasks: { from: ["bench"], seed: ["x"] } })).toBe(4);
    const named = await readTaskFile(dir, "bench", "harbor");
    expect(named.tasks.map((t) => t.id)).toEqual(["mid", "zeta"]);
    expect(brief(named.problems)).toEqual([{ file: "bench/alpha/task.yaml", line: 0, keyPath: [], message: "a Terminal-Bench 1 task (task.yaml), but tasks.format is harbor (task.toml)" }]);
  });

  it("list every malformed task directory, located, and import the others", async () => {
    const missing = harborFiles("bench/no-instruction");
    delete missing["bench/no-instruction/instruction.md"];
    const dir = makeProject({
      ...harborFiles("bench/good"),
      ...harborFiles("bench/bad-toml", "[agent]\ntimeout_sec = = 3\n"),
      ...harborFiles("bench/bad-values", '[environment]\ncpus = "two"\nallow_internet = 1\n'),
      ...missing,
      "bench/bad-yaml/task.yaml": "instruction: [unclosed\n",
      "bench/bad-yaml/Dockerfile": "FROM x\n",
      "bench/bad-yaml/run-tests.sh": "true\n",
      "empty/README.md": "nothing\n",
    });
    const { tasks, problems } = await readTaskFile(dir, "bench");
    expect(tasks.map((t) => t.id)).toEqual(["good"]);
    expect(brief(problems)).toEqual([
      { file: "bench/bad-toml/task.toml", line: 2, keyPath: [], message: expect.stringMatching(/^not valid TOML/) },
      { file: "bench/bad-values/task.toml", line: 2, keyPath: ["environment", "cpus"], message: "environment.cpus must be a positive number" },
      { file: "bench/bad-values/task.toml", line: 3, keyPath: ["environment", "allow_internet"], message: "environment.allow_internet must be true or false" },
      { file: "bench/bad-yaml/task.yaml", line: expect.any(Number), keyPath: [], message: expect.stringMatching(/^not valid YAML/) },
      { file: "bench/no-instruction/instruction.md", line: 0, keyPath: [], message: "missing: a Harbor task's instruction.md is its prompt" },
    ]);
    expect((await readTaskFile(dir, "empty")).problems[0]!.message).toMatch(/^no task here/);
    expect((await readTaskFile(dir, "bench/good/task.toml", "harbor")).problems[0]!.message).toMatch(/^a file, but a harbor task is a directory/);
  });
});

describe("our JSONL with env and verify", () => {
  it("resolves verify.files paths into inline files under /tests/ and validates env and verify", async () => {
    const dir = makeProject({
      "checks/run.sh": "#!/bin/sh\ntest -f /work/done\n",
      "checks/lib/helper.py": "X = 1\n",
      "fixture.txt": "expected\n",
      "tasks.jsonl": [
        JSON.stringify({ id: "v1", prompt: "make done", env: { image: "python:3.12", workdir: "/work" }, verify: { command: "sh /tests/run.sh", files: ["checks", "fixture.txt", { path: "/tests/inline.txt", content: "hi" }], timeout_s: 30 } }),
        JSON.stringify({ prompt: "plain task", owner: "me" }),
        JSON.stringify({ id: "v2", prompt: "repo task", env: { repo: "https://example.com/r.git", commit: "abc" }, verify: { command: "make test", success: { kind: "reward_file" } } }),
        JSON.stringify({ id: "bad", prompt: "x", env: { image: "" }, verify: { files: ["nope.txt"] } }),
        JSON.stringify({ id: "bad2", prompt: "y", env: { kind: "vm" } }),
      ].join("\n"),
    });
    chmodSync(join(dir, "checks/run.sh"), 0o755);
    expect(detectFormat(dir, "tasks.jsonl")).toBe("jsonl");
    const { tasks, problems } = await readTaskFile(dir, "tasks.jsonl");
    const t = byId(tasks.map((x, i) => ({ ...x, id: x.id ?? `line${i}` })));
    expect(t.v1).toEqual({
      id: "v1",
      prompt: "make done",
      env: { image: "python:3.12", workdir: "/work" },
      verify: {
        command: "sh /tests/run.sh",
        files: [
          { path: "/tests/lib/helper.py", content: "X = 1\n", encoding: "utf8" },
          { path: "/tests/run.sh", content: "#!/bin/sh\ntest -f /work/done\n", encoding: "utf8", mode: 0o755 },
          { path: "/tests/fixture.txt", content: "expected\n", encoding: "utf8" },
          { path: "/tests/inline.txt", content: "hi", encoding: "utf8" },
        ],
        timeout_s: 30,
        success: { kind: "exit_code" },
      },
      origin: "tasks.jsonl:1",
    });
    expect(t.line1).toEqual({ prompt: "plain task", meta: { owner: "me" }, origin: "tasks.jsonl:2", id: "line1" });
    expect(t.v2!.verify).toEqual({ command: "make test", files: [], timeout_s: 600, success: { kind: "reward_file", dir: "/logs/verifier" } });
    expect(brief(problems)).toEqual([
      { file: "tasks.jsonl", line: 4, keyPath: ["env", "image"], message: expect.any(String) },
      { file: "tasks.jsonl", line: 4, keyPath: ["verify", "files", 0], message: "nope.txt not found" },
      { file: "tasks.jsonl", line: 4, keyPath: ["verify", "command"], message: expect.any(String) },
      { file: "tasks.jsonl", line: 5, keyPath: ["env"], message: "env names no environment" },
    ]);
    // The files the verifiers copy in are keyed with the task file.
    expect(taskSourceFiles(dir, ["tasks.jsonl"])).toEqual(["checks/lib/helper.py", "checks/run.sh", "fixture.txt", "tasks.jsonl"]);
  });
});

describe("tasks.from", () => {
  it("mixes formats in one list, and a named format overrides recognition", async () => {
    const dir = makeProject({ ...harborFiles("h/one"), "swe.jsonl": JSON.stringify(sweInstance()) + "\n", "mine.jsonl": '"a plain task"\n' });
    const subagent = { name: "alpha", tasks: { from: ["mine.jsonl", "swe.jsonl", "h"], seed: ["seeded"] } };
    const { raw, problems } = await readUserTasks(dir, "subagents.yaml", subagent);
    expect(problems).toEqual([]);
    expect(raw.map((t) => t.origin)).toEqual(["mine.jsonl:1", "swe.jsonl:1", "h/one/task.toml", "seed[0]"]);
    expect(countTaskEntries(dir, subagent)).toBe(4);
    // Read as our JSONL, a SWE-bench line is a task without a prompt.
    const asJsonl = await readUserTasks(dir, "subagents.yaml", { ...subagent, tasks: { ...subagent.tasks, format: "jsonl" as const } });
    expect(asJsonl.problems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual(['swe.jsonl:1: missing "prompt": a non-empty string', "h:0: a directory, but tasks.format jsonl reads a file"]);
  });

  it("keys every file under a task directory", () => {
    const dir = makeProject({ ...harborFiles("bench/a"), ...tb1Files("bench/b"), "bench/.git/HEAD": "ref\n", "one.jsonl": '"x"\n' });
    expect(taskSourceFiles(dir, ["one.jsonl", "./bench/"])).toEqual([
      "bench/a/environment/Dockerfile",
      "bench/a/instruction.md",
      "bench/a/solution/solve.sh",
      "bench/a/task.toml",
      "bench/a/tests/test.sh",
      "bench/a/tests/test_out.py",
      "bench/b/Dockerfile",
      "bench/b/run-tests.sh",
      "bench/b/solution.sh",
      "bench/b/task.yaml",
      "bench/b/tests/test_outputs.py",
      "one.jsonl",
    ]);
  });
});

describe("the tasks stage through the CLI", () => {
  const config = (from: string) =>
    [
      "version: 1",
      "subagents:",
      "  alpha:",
      "    until: tasks",
      "    source:",
      "      inline:",
      "        description: Fixes bugs",
      "        prompt: You fix bugs.",
      "    tasks:",
      `      from: ${from}`,
      "      holdout: 0.5",
      "      count: 1",
      "",
    ].join("\n");

  it("writes env, verify and solution into tasks.jsonl and heldout.jsonl; a file in a task directory is keyed", () => {
    const dir = makeProject({
      "subagents.yaml": config("[bench, swe.json, mine.jsonl]"),
      ...harborFiles("bench/h1"),
      ...harborFiles("bench/h2"),
      ...tb1Files("bench/t1"),
      "swe.json": JSON.stringify([sweInstance(), sweInstance({ instance_id: "second", problem_statement: "Another bug." })]),
      "checks/ok.sh": "true\n",
      "mine.jsonl": JSON.stringify({ id: "m1", prompt: "do it", verify: { command: "sh /tests/ok.sh", files: ["checks/ok.sh"] } }) + "\n",
    });
    writeFileSync(join(dir, "bench/h2/instruction.md"), "Write bye to /app/out.txt\n");
    const r = sabuild(dir, ["build", "alpha:tasks"]);
    expect(r.code, r.stderr).toBe(0);
    const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "alpha:tasks"]);
    const lines = ["tasks.jsonl", "heldout.jsonl"].flatMap((name) =>
      readFileSync(art.files.find((f) => f.path === name)!.blob, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as SourcedTask),
    );
    const t = byId(lines);
    expect(Object.keys(t).sort()).toEqual(["h1", "h2", "m1", "psf__requests-1234", "second", "t1"]);
    expect(t.h1).toMatchObject({ env: { dockerfile: "bench/h1/environment" }, verify: { command: "bash /tests/test.sh", success: { kind: "reward_file" } }, solution: { command: "bash /solution/solve.sh" } });
    expect(t.t1).toMatchObject({ env: { dockerfile: "bench/t1" }, verify: { success: { kind: "exit_code" } } });
    expect(t.second).toMatchObject({ env: { repo: "https://github.com/psf/requests.git", commit: "0123abcd" }, verify: { success: { kind: "tests", fail_to_pass: F2P } } });
    expect(t.m1).toMatchObject({ verify: { files: [{ path: "/tests/ok.sh", content: "true\n" }] } });

    writeFileSync(join(dir, "bench/h1/tests/test.sh"), "exit 1\n");
    writeFileSync(join(dir, "checks/ok.sh"), "false\n");
    const plan = sabuildJson<{ stages: { id: string; status: string; reasons: { type: string; path?: string }[] }[] }>(dir, ["plan"]);
    const reasons = plan.stages.find((s) => s.id === "alpha:tasks")!.reasons;
    expect(reasons).toEqual(expect.arrayContaining([expect.objectContaining({ type: "file", path: "bench/h1/tests/test.sh" }), expect.objectContaining({ type: "file", path: "checks/ok.sh" })]));
    // The mode a copied file gets, and a named format, are keyed too.
    expect(sabuild(dir, ["build", "alpha:tasks"]).code).toBe(0);
    chmodSync(join(dir, "bench/h1/tests/test.sh"), 0o755);
    writeFileSync(join(dir, "subagents.yaml"), config("[bench, swe.json, mine.jsonl]").replace("      count: 1", "      count: 1\n      format: swe-bench"));
    const after = sabuildJson<{ stages: { id: string; reasons: { type: string; path?: string }[] }[] }>(dir, ["plan"]);
    expect(after.stages.find((s) => s.id === "alpha:tasks")!.reasons).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "param", path: "executable" }), expect.objectContaining({ type: "param", path: "format" })]),
    );
  });

  it("fails the stage listing every problem of every source at once", () => {
    const missing = harborFiles("bench/no-instruction");
    delete missing["bench/no-instruction/instruction.md"];
    const dir = makeProject({
      "subagents.yaml": config("[bench, swe.jsonl]"),
      ...harborFiles("bench/bad-toml", "[agent\n"),
      ...missing,
      ...harborFiles("bench/good"),
      "swe.jsonl": [JSON.stringify(sweInstance({ problem_statement: undefined })), JSON.stringify(sweInstance({ instance_id: "x", FAIL_TO_PASS: 3 }))].join("\n"),
    });
    const r = sabuild(dir, ["build", "alpha:tasks"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bench\/bad-toml\/task\.toml:1:\d+: not valid TOML/);
    expect(r.stderr).toContain("bench/no-instruction/instruction.md: missing: a Harbor task's instruction.md is its prompt");
    expect(r.stderr).toContain('swe.jsonl:1:1: problem_statement: missing "problem_statement"');
    expect(r.stderr).toContain('swe.jsonl:2:1: FAIL_TO_PASS: "FAIL_TO_PASS" must be a list of test ids');
  });
});
