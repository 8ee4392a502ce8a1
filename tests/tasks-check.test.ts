import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, sabuild, sabuildJson } from "./helpers.js";
import { ensureDocker, projectContainers } from "./support/docker.js";
import { harborFiles } from "./support/task-dirs.js";

/**
 * `sabuild tasks check` through the real CLI and real Docker: JSONL tasks on the shell recipe
 * whose solution makes the verifier pass, whose solution is wrong, whose verifier passes on the
 * untouched environment and which has no verifier, beside a Harbor task directory whose
 * test.sh writes /logs/verifier/reward.txt. A second subagent stops at tasks: no sandbox.
 */

const task = (id: string, prompt: string, verify?: string, solution?: string): string =>
  JSON.stringify({ id, prompt, ...(verify ? { verify: { command: verify } } : {}), ...(solution ? { solution: { command: solution } } : {}) });

const TASKS = [
  // Its verifier fails in a container where it ran before: the solution half must get a fresh one.
  task("good", "Create done.txt", "if [ -e verified-once ]; then echo container reused; exit 1; fi; touch verified-once; test -f done.txt", "touch done.txt"),
  task("wrong-solution", "Create finished.txt", "test -f finished.txt || { echo finished.txt is missing; exit 1; }", "echo writing the wrong file; touch other.txt; exit 3"),
  task("solved-already", "Make the workspace a git repository", "git rev-parse --git-dir && echo it is one", "true"),
  task("no-verifier", "Say hello"),
].join("\n");

/** Harbor's rule: the verifier writes its reward; a shell check, since the image has no pytest. */
const HARBOR_TEST = '#!/bin/bash\nif [ "$(cat /app/out.txt 2>/dev/null)" = hello ]; then echo 1 > /logs/verifier/reward.txt; else echo "out.txt does not say hello"; echo 0 > /logs/verifier/reward.txt; fi\n';

const CONFIG = [
  "version: 1",
  "subagents:",
  "  runner:",
  "    until: sandbox",
  "    source:",
  "      inline:",
  "        description: Runs shell commands",
  "        prompt: You run commands in the workspace.",
  "    sandbox:",
  "      recipe: shell",
  "    tasks:",
  "      from: [tasks.jsonl, bench]",
  "      holdout: 0",
  "      count: 1",
  "  lister:",
  "    until: tasks",
  "    source:",
  "      inline:",
  "        description: Lists files",
  "        prompt: You list files.",
  "    tasks: {seed: [List the files.], count: 1, holdout: 0}",
  "",
].join("\n");

interface Row {
  task: string;
  subagents: string[];
  env: string;
  status: string;
  broken?: string[];
  reason?: string;
  nop?: { passed: boolean; reward: number; output_tail: string; duration_ms: number };
  solution?: { run: { exit_code: number | null; output_tail: string; duration_ms: number }; verifier?: { passed: boolean; output_tail: string } } | null;
  duration_ms?: number;
}
interface CheckJson {
  ok: boolean;
  durationMs: number;
  counts: Record<string, number>;
  tasks: Row[];
  unavailable: { subagent: string; reason: string }[];
}

describe("sabuild tasks check", () => {
  let dir: string;
  beforeAll(async () => {
    await ensureDocker();
    dir = makeProject({
      "subagents.yaml": CONFIG,
      "tasks.jsonl": `${TASKS}\n`,
      ...harborFiles("bench/hello"),
      "bench/hello/tests/test.sh": HARBOR_TEST,
    });
  });

  it("reports ok and broken tasks with the half that failed and the verifier's output, exit 1, and leaves no container", () => {
    const r = sabuild(dir, ["tasks", "check"]);
    expect(r.code, r.stderr).toBe(1);
    // Progress while it runs: the builds, then a line per finished check.
    expect(r.stderr).toContain("✓ runner:sandbox built");
    expect(r.stderr).toContain("checking 4 tasks");
    expect(r.stderr).toMatch(/^\[\d\/4\] good \(runner\): ok \(nop \d+(ms|\.\ds), solution \d+(ms|\.\ds)\)$/m);
    const lines = r.stdout.split("\n");
    const line = (id: string): string => lines.find((l) => l.split(/\s+/)[1] === id) ?? "";
    expect(line("good")).toMatch(/^ok +good +nop: verifier failed as it should \(.+\); solution: verifier passed \(.+\)  \(runner, env default\)$/);
    expect(line("hello")).toMatch(/^ok +hello .*\(runner, env hello-[0-9a-f]{12}\)$/);
    expect(line("wrong-solution")).toContain("BROKEN    wrong-solution  solution half: the verifier fails after the reference solution (which exited 3)");
    expect(line("solved-already")).toContain("nop half: the verifier passes on the untouched environment (reward 1): the task is solved before the agent starts");
    expect(line("no-verifier")).toMatch(/^unchecked +no-verifier +no verifier/);
    // The output tails of what failed: the solution's and the verifier's.
    expect(r.stdout).toContain("solution output:\n            | writing the wrong file");
    expect(r.stdout).toContain("verifier output, after the solution:\n            | finished.txt is missing");
    expect(r.stdout).toContain("verifier output, untouched environment:\n            | .git\n            | it is one");
    expect(r.stdout).toContain("not checked: lister: its sandbox stage is unavailable");
    expect(r.stdout).toMatch(/4 tasks checked in .+: 2 ok, 2 broken, 1 not checkable \(no verifier\)\n$/);
    expect(projectContainers(dir)).toEqual([]);
  }, 180_000);

  it("--json: one document with each task's halves, counts and durations; images come from the store", () => {
    const out = sabuildJson<CheckJson>(dir, ["tasks", "check"]);
    expect(out.__code).toBe(1);
    expect(out.ok).toBe(false);
    expect(out.counts).toEqual({ ok: 2, broken: 2, error: 0, unchecked: 1 });
    expect(out.unavailable).toEqual([{ subagent: "lister", reason: expect.stringContaining("until") }]);
    const byId = Object.fromEntries(out.tasks.map((t) => [t.task, t]));
    expect(Object.keys(byId).sort()).toEqual(["good", "hello", "no-verifier", "solved-already", "wrong-solution"]);
    expect(byId.good).toMatchObject({ status: "ok", subagents: ["runner"], env: "default", nop: { passed: false }, solution: { run: { exit_code: 0 }, verifier: { passed: true } } });
    expect(byId.good!.broken).toBeUndefined();
    expect(byId.hello).toMatchObject({ status: "ok", nop: { passed: false, reward: 0, output_tail: "out.txt does not say hello" }, solution: { verifier: { passed: true, reward: 1 } } });
    expect(byId["wrong-solution"]).toMatchObject({ status: "broken", broken: ["solution"], nop: { passed: false }, solution: { run: { exit_code: 3, output_tail: "writing the wrong file" }, verifier: { passed: false, output_tail: "finished.txt is missing" } } });
    expect(byId["solved-already"]).toMatchObject({ status: "broken", broken: ["nop"], nop: { passed: true, reward: 1 } });
    expect(byId["no-verifier"]).toEqual({ task: "no-verifier", subagents: ["runner"], env: "default", status: "unchecked", reason: "no verifier" });
    for (const t of out.tasks.filter((x) => x.status !== "unchecked")) {
      expect(t.duration_ms).toBeGreaterThan(0);
      expect(t.nop!.duration_ms).toBeGreaterThan(0);
      expect(t.solution!.run.duration_ms).toBeGreaterThan(0);
    }
  }, 180_000);

  it("--task checks only the named tasks (exit 0 when they are ok); nothing is built again", () => {
    const r = sabuild(dir, ["tasks", "check", "runner", "--task", "good", "--task", "hello", "-j", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("0 built, 0 restored, 3 up-to-date");
    expect(r.stderr).toContain("checking 2 tasks (1 at once)");
    expect(r.stdout).toMatch(/2 tasks checked in .+: 2 ok, 0 broken\n$/);
    expect(r.stdout).not.toContain("wrong-solution");
  }, 120_000);

  it("bad input is exit 2 with a hint: an unknown task id, subagent or subcommand, a subagent without a sandbox", () => {
    const typo = sabuild(dir, ["tasks", "check", "--task", "godo"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('error: no task "godo" (did you mean "good"?); tasks: good, wrong-solution, solved-already, no-verifier, hello');
    expect(typo.stderr).not.toContain("checking");
    const json = sabuildJson<{ ok: boolean; error: string }>(dir, ["tasks", "check", "--task", "nothing-like-it"]);
    expect(json.__code).toBe(2);
    expect(json).toMatchObject({ ok: false, error: expect.stringMatching(/^no task "nothing-like-it"; tasks: /) });

    const sub = sabuild(dir, ["tasks", "check", "runer"]);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('no subagent "runer" in subagents.yaml (did you mean "runner"?)');
    const noSandbox = sabuild(dir, ["tasks", "check", "lister"]);
    expect(noSandbox.code).toBe(2);
    expect(noSandbox.stderr).toContain("cannot check the tasks of lister: its sandbox stage is unavailable");
    const command = sabuild(dir, ["tasks", "chek"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown tasks command "chek" (did you mean "check"?)');
    expect(sabuild(dir, ["--help"]).stdout).toMatch(/^ {2}tasks +tasks check: /m);
  }, 120_000);
});
