import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifierSchema, solutionSchema, type Verifier } from "../src/envs/types.js";
import { buildRecipeImage, openContainerIds, openSandbox, type SandboxImage, type SandboxSession } from "../src/sandbox/index.js";
import { parsePytestReport } from "../src/verify/pytest-report.js";
import { parseReward } from "../src/verify/reward.js";
import { outputTail, runSolution, runVerifier } from "../src/verify/run.js";
import { ensureDocker } from "./support/docker.js";

/** A verifier as a task line writes it: the schema fills in the defaults. */
const verifier = (v: Record<string, unknown>): Verifier => verifierSchema.parse(v);

describe("the pytest report", () => {
  it("reads the -rA short summary: passed, failed and errors, with the message cut off", () => {
    const report = [
      "============================= test session starts ==============================",
      "tests/test_a.py .F.E                                                     [100%]",
      "=========================== short test summary info ============================",
      "PASSED tests/test_a.py::test_one",
      "PASSED tests/test_a.py::TestGroup::test_two",
      "FAILED tests/test_a.py::test_three - AssertionError: assert 1 == 2",
      "ERROR tests/test_a.py::test_four - fixture 'db' not found",
      "XFAIL tests/test_a.py::test_five - known bug",
      "SKIPPED [1] tests/test_a.py:40: needs a network",
      "=================== 1 failed, 2 passed, 1 error in 0.12s ===================",
    ].join("\n");
    expect(Object.fromEntries(parsePytestReport(report))).toEqual({
      "tests/test_a.py::test_one": "passed",
      "tests/test_a.py::TestGroup::test_two": "passed",
      "tests/test_a.py::test_three": "failed",
      "tests/test_a.py::test_four": "error",
      "tests/test_a.py::test_five": "xfailed",
    });
  });

  it("keeps parametrised ids whole: spaces, brackets, dashes and status words inside them", () => {
    const report = [
      "PASSED tests/t.py::test_sum[1 + 1 - 2]",
      "FAILED tests/t.py::test_sub[3 - 1] - assert 3 == 2",
      "FAILED tests/t.py::test_nested[a[0]-b] - IndexError: list index out of range",
      "PASSED tests/t.py::test_word[FAILED x]",
      "\x1b[32mPASSED\x1b[0m tests/t.py::test_colour",
    ].join("\n");
    expect(Object.fromEntries(parsePytestReport(report))).toEqual({
      "tests/t.py::test_sum[1 + 1 - 2]": "passed",
      "tests/t.py::test_sub[3 - 1]": "failed",
      "tests/t.py::test_nested[a[0]-b]": "failed",
      "tests/t.py::test_word[FAILED x]": "passed",
      "tests/t.py::test_colour": "passed",
    });
  });

  it("reads the verbose form and pytest-xdist's lines", () => {
    const report = [
      "tests/t.py::test_ok PASSED                                                [ 25%]",
      "tests/t.py::test_param[a b] FAILED                                        [ 50%]",
      "tests/t.py::test_word[x PASSED y] PASSED                                  [ 75%]",
      "tests/t.py::test_skip SKIPPED (no network)                                [100%]",
      "[gw1] [ 50%] PASSED tests/u.py::test_remote",
      "[gw0] [100%] ERROR tests/u.py::test_broken",
    ].join("\n");
    expect(Object.fromEntries(parsePytestReport(report))).toEqual({
      "tests/t.py::test_ok": "passed",
      "tests/t.py::test_param[a b]": "failed",
      "tests/t.py::test_word[x PASSED y]": "passed",
      "tests/t.py::test_skip": "skipped",
      "tests/u.py::test_remote": "passed",
      "tests/u.py::test_broken": "error",
    });
  });

  it("keeps the failing outcome of a test reported twice (passed, then an error in its teardown)", () => {
    const report = ["PASSED tests/t.py::test_a", "ERROR tests/t.py::test_a - teardown failed", "tests/t.py::test_b ERROR", "tests/t.py::test_b PASSED"].join("\n");
    expect(Object.fromEntries(parsePytestReport(report))).toEqual({ "tests/t.py::test_a": "error", "tests/t.py::test_b": "error" });
  });

  it("finds nothing in output that is not a pytest report", () => {
    expect(parsePytestReport("PASSED\nall tests PASSED today\nFAILED \n").size).toBe(0);
  });
});

describe("reward files", () => {
  it("reads Harbor's reward.txt (its first line) and reward.json ({reward}, or a single named reward)", () => {
    expect(parseReward("reward.txt", "1\n")).toEqual({ ok: true, value: 1 });
    expect(parseReward("reward.txt", " 0.25 \nnotes\n")).toEqual({ ok: true, value: 0.25 });
    expect(parseReward("reward.json", '{"reward": 0.5, "accuracy": 0.9}')).toEqual({ ok: true, value: 0.5 });
    expect(parseReward("reward.json", '{"score": 1.0}')).toEqual({ ok: true, value: 1 });
  });

  it("says why a reward file gives no verdict", () => {
    const error = (name: "reward.txt" | "reward.json", text: string) => {
      const r = parseReward(name, text);
      return r.ok ? undefined : r.error;
    };
    expect(error("reward.txt", "")).toBe("the reward file reward.txt is empty");
    expect(error("reward.txt", "passed")).toBe('the reward file reward.txt does not hold a number: "passed"');
    expect(error("reward.json", "{")).toBe("the reward file reward.json is not JSON");
    expect(error("reward.json", "1")).toBe("the reward file reward.json is not a JSON object of named rewards");
    expect(error("reward.json", '{"a": 1, "b": 0}')).toBe('the reward file reward.json names 2 rewards (a, b) and no "reward"');
    expect(error("reward.json", '{"reward": "1"}')).toBe('the reward in reward.json is not a number: "1"');
  });
});

describe("the output tail", () => {
  it("keeps the last 40 lines of stdout then stderr, at most 4000 characters", () => {
    const stdout = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
    expect(outputTail({ stdout, stderr: "boom\n" }).split("\n")).toEqual([...Array.from({ length: 39 }, (_, i) => `line ${61 + i}`), "boom"]);
    expect(outputTail({ stdout: "x".repeat(10_000), stderr: "" })).toHaveLength(4000);
    expect(outputTail({ stdout: "", stderr: "" })).toBe("");
  });
});

describe("verifiers in a real container", () => {
  let shell: SandboxImage;
  let python: SandboxImage;
  const sessions: SandboxSession[] = [];
  /** A fresh container: each test changes its files. */
  const open = async (image: SandboxImage = shell): Promise<SandboxSession> => {
    const s = await openSandbox(image);
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    await ensureDocker();
    shell = await buildRecipeImage({ recipe: "shell" });
    python = await buildRecipeImage({ recipe: "python-repo" });
  }, 600_000);

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    expect(openContainerIds()).toEqual([]);
  });

  it("exit_code: passed when the command exits 0, run with bash -lc in the workspace as the agent's user", async () => {
    const box = await open();
    const pass = await runVerifier(box, verifier({ command: 'echo "$(id -un) $(pwd)"; [ "$BASH" ]' }));
    expect(pass).toMatchObject({ passed: true, reward: 1, exit_code: 0, timed_out: false, output_tail: "agent /workspace" });
    expect(pass.error).toBeUndefined();
    expect(pass.duration_ms).toBeGreaterThanOrEqual(0);
    const fail = await runVerifier(box, verifier({ command: "echo nope >&2; exit 4" }));
    expect(fail).toMatchObject({ passed: false, reward: 0, exit_code: 4, timed_out: false, output_tail: "nope" });
  });

  it("runs as root when the task says so (Harbor, Terminal-Bench): root may write where only root can, the agent's user may not", async () => {
    const box = await open();
    const command = 'echo "$(id -un) $(pwd)"; touch /opt/verified';
    const asRoot = await runVerifier(box, verifier({ command, user: "root" }));
    expect(asRoot).toMatchObject({ passed: true, output_tail: "root /workspace" });
    const asAgent = await runVerifier(box, verifier({ command }));
    expect(asAgent).toMatchObject({ passed: false, output_tail: expect.stringMatching(/^agent \/workspace\n.*Permission denied/s) });
    const solved = await runSolution(box, { command: "id -un > /opt/solved-by; cat /opt/solved-by", files: [], timeout_s: 30, user: "root" });
    expect(solved).toMatchObject({ exit_code: 0, output_tail: "root" });
  });

  it("copies its files only when it runs: a script with its mode, a binary file, files under /tests, the workspace and /tmp", async () => {
    const box = await open();
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const files = [
      { path: "/tests/run.sh", content: "#!/bin/bash\necho from the script\n", mode: 0o755 },
      { path: "/tests/data/blob.bin", content: bytes.toString("base64"), encoding: "base64" },
      { path: "/workspace/checks/expected.txt", content: "héllo\n" },
      { path: "/tmp/sabuild/verify/note.txt", content: "note\n" },
    ];
    const sha = createHash("sha256").update(bytes).digest("hex");
    const absent = await box.exec(["sh", "-c", "ls /tests /workspace/checks /tmp/sabuild 2>&1; exit 0"]);
    expect(absent.stdout).toMatch(/\/tests.*No such file[\s\S]*\/workspace\/checks.*No such file[\s\S]*\/tmp\/sabuild.*No such file/);
    const command = [
      "/tests/run.sh",
      `echo "${sha}  /tests/data/blob.bin" | sha256sum -c --quiet`,
      "stat -c '%a %U' /tests/run.sh /workspace/checks/expected.txt",
      "cat /workspace/checks/expected.txt /tmp/sabuild/verify/note.txt",
    ].join(" && ");
    const v = await runVerifier(box, verifier({ command, files }));
    expect(v.error).toBeUndefined();
    // Under /tests root owns the files (the agent's user cannot write there); the workspace's stay the agent's.
    expect(v).toMatchObject({ passed: true, output_tail: "from the script\n755 root\n644 agent\nhéllo\nnote" });
  });

  it("reward_file: reward.txt of 1 passes, 0.5 does not, reward.json counts, and a missing file is an error", async () => {
    const box = await open();
    const txt = (reward: string) => verifier({ command: `echo ${reward} > /logs/verifier/reward.txt`, success: { kind: "reward_file" } });
    expect(await runVerifier(box, txt("1"))).toMatchObject({ passed: true, reward: 1, exit_code: 0 });
    const half = await runVerifier(box, txt("0.5"));
    expect(half).toMatchObject({ passed: false, reward: 0.5 });
    expect(half.error).toBeUndefined();
    const json = await runVerifier(box, verifier({ command: `echo '{"reward": 1.0}' > /logs/verifier/reward.json`, success: { kind: "reward_file" } }));
    expect(json).toMatchObject({ passed: true, reward: 1 });
    // Each run starts without the last one's reward: writing none is an error, not the old verdict.
    const missing = await runVerifier(box, verifier({ command: "true", success: { kind: "reward_file" } }));
    expect(missing).toMatchObject({ passed: false, reward: 0, exit_code: 0, error: "the verifier wrote no reward file (/logs/verifier/reward.txt or /logs/verifier/reward.json)" });
  });

  it("reward_file: a reward the agent left in the directory beforehand does not count", async () => {
    const box = await open();
    await box.exec(["sh", "-c", "mkdir -p /tmp/rewards && echo 1 > /tmp/rewards/reward.txt"]);
    const v = await runVerifier(box, verifier({ command: "true", success: { kind: "reward_file", dir: "/tmp/rewards" } }));
    expect(v).toMatchObject({ passed: false, error: "the verifier wrote no reward file (/tmp/rewards/reward.txt or /tmp/rewards/reward.json)" });
  });

  it("a verifier past its timeout has not passed and is marked timed out", async () => {
    const box = await open();
    const v = await runVerifier(box, verifier({ command: "echo started; sleep 30", timeout_s: 1 }));
    expect(v).toMatchObject({ passed: false, reward: 0, exit_code: null, timed_out: true, output_tail: "started", error: "the verifier ran past its 1 s limit" });
    expect(v.duration_ms).toBeLessThan(10_000);
  });

  it("tests: passed only when every FAIL_TO_PASS and PASS_TO_PASS test passed; the others are listed", { timeout: 120_000 }, async () => {
    const box = await open(python);
    const test = [
      "import pytest",
      "def test_fixed():",
      "    assert 1 + 1 == 2",
      "def test_still_broken():",
      "    assert 1 + 1 == 3",
      '@pytest.mark.parametrize("expr", ["a b", "3 - 1"])',
      "def test_param(expr):",
      '    assert expr == "a b"',
      "",
    ].join("\n");
    const id = (name: string) => `tests/test_verify_tiny.py::${name}`;
    const v = await runVerifier(
      box,
      verifier({
        command: "python3 -m pytest -rA -p no:cacheprovider tests/test_verify_tiny.py",
        files: [{ path: "/workspace/tests/test_verify_tiny.py", content: test }],
        success: { kind: "tests", fail_to_pass: [id("test_fixed"), id("test_still_broken"), id("test_param[3 - 1]")], pass_to_pass: [id("test_param[a b]"), id("test_gone")] },
      }),
    );
    expect(v).toMatchObject({
      passed: false,
      reward: 0,
      exit_code: 1,
      tests: { fail_to_pass_failed: [id("test_still_broken"), id("test_param[3 - 1]")], pass_to_pass_failed: [id("test_gone")] },
    });
    expect(v.output_tail).toContain("2 failed, 2 passed");
    const good = await runVerifier(
      box,
      verifier({ command: "python3 -m pytest -rA -p no:cacheprovider tests/test_verify_tiny.py", success: { kind: "tests", fail_to_pass: [id("test_fixed")], pass_to_pass: [id("test_param[a b]")] } }),
    );
    expect(good).toMatchObject({ passed: true, reward: 1, exit_code: 1, tests: { fail_to_pass_failed: [], pass_to_pass_failed: [] } });
  });

  it("a container gone becomes a failed verification; an abort is thrown", async () => {
    const box = await open();
    const controller = new AbortController();
    const running = runVerifier(box, verifier({ command: "sleep 30" }), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 500);
    await expect(running).rejects.toThrow("stop");
    await box.close();
    const gone = await runVerifier(box, verifier({ command: "true", files: [{ path: "/tests/a.txt", content: "a" }] }));
    expect(gone).toMatchObject({ passed: false, reward: 0, exit_code: null, error: "the container is gone: the sandbox session is closed" });
  });

  it("runSolution copies its files and runs its command in the workspace", async () => {
    const box = await open();
    const solution = solutionSchema.parse({ command: "bash /solution/solve.sh && cat answer.txt", files: [{ path: "/solution/solve.sh", content: "echo 42 > answer.txt\n" }] });
    expect(await runSolution(box, solution)).toMatchObject({ exit_code: 0, timed_out: false, output_tail: "42" });
    const slow = await runSolution(box, solutionSchema.parse({ command: "sleep 30", timeout_s: 1 }));
    expect(slow).toMatchObject({ exit_code: null, timed_out: true });
    expect(await runVerifier(box, verifier({ command: "grep -qx 42 /workspace/answer.txt" }))).toMatchObject({ passed: true });
  });
});
