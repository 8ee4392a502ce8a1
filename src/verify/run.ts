import type { Solution, SuccessRule, Verification, Verifier } from "../envs/types.js";
import { SandboxError, type ExecResult, type SandboxSession } from "../sandbox/types.js";
import { copyFiles, prepareRewardDir } from "./files.js";
import { outcomePassed, parsePytestReport } from "./pytest-report.js";
import { readReward } from "./reward.js";

/**
 * A task's verifier, run after the agent finishes, in the agent's container: its files are
 * copied in only now, its command runs in the workspace as the agent's user (or root, when the
 * task says so: Harbor's and Terminal-Bench's tests), and its outcome is
 * read by the task's success rule. What goes wrong with the verifier or the container becomes a
 * failed Verification with `error` set; only an abort is thrown.
 */

/** Enough for a pytest -rA report of a large suite; what the trace keeps is the tail. */
const OUTPUT_LIMIT_BYTES = 1024 * 1024;
const TAIL_LINES = 40;
const TAIL_CHARS = 4000;

export interface RunOptions {
  signal?: AbortSignal;
}

export async function runVerifier(session: SandboxSession, verifier: Verifier, options: RunOptions = {}): Promise<Verification> {
  const started = performance.now();
  const failed = (error: string, result?: ExecResult): Verification => ({
    passed: false,
    reward: 0,
    exit_code: result?.exitCode ?? null,
    timed_out: result?.timedOut ?? false,
    duration_ms: Math.round(performance.now() - started),
    output_tail: result ? outputTail(result) : "",
    error,
  });
  try {
    const copied = await copyFiles(session, verifier.files, options);
    if (!copied.ok) return failed(copied.error);
    const rule = verifier.success;
    if (rule.kind === "reward_file") {
      const prepared = await prepareRewardDir(session, rule.dir, options);
      if (!prepared.ok) return failed(prepared.error);
    }
    const result = await runCommand(session, verifier, options);
    const base = {
      exit_code: result.exitCode,
      timed_out: result.timedOut,
      duration_ms: Math.round(performance.now() - started),
      output_tail: outputTail(result),
    };
    if (result.timedOut) return { ...base, passed: false, reward: 0, error: `the verifier ran past its ${verifier.timeout_s} s limit` };
    if (result.oomKilled) return { ...base, passed: false, reward: 0, error: "the verifier ran out of memory (OOM-killed)" };
    return { ...base, ...(await outcome(session, rule, result, options)) };
  } catch (e) {
    if (options.signal?.aborted || !(e instanceof SandboxError)) throw e;
    return failed(`the container is gone: ${e.message}`);
  }
}

export interface SolutionRun {
  exit_code: number | null;
  timed_out: boolean;
  output_tail: string;
  duration_ms: number;
  /** Why the solution could not run (its files could not be copied). */
  error?: string;
}

/**
 * A task's reference solution (Harbor's solution/solve.sh), run where the agent would work. A
 * container that is gone throws (SandboxError): there is no verdict to record, only a failed check.
 */
export async function runSolution(session: SandboxSession, solution: Solution, options: RunOptions = {}): Promise<SolutionRun> {
  const started = performance.now();
  const copied = await copyFiles(session, solution.files, options);
  if (!copied.ok) return { exit_code: null, timed_out: false, output_tail: "", duration_ms: Math.round(performance.now() - started), error: copied.error };
  const result = await runCommand(session, solution, options);
  return { exit_code: result.exitCode, timed_out: result.timedOut, output_tail: outputTail(result), duration_ms: Math.round(performance.now() - started) };
}

function runCommand(session: SandboxSession, run: Pick<Verifier, "command" | "timeout_s" | "user">, options: RunOptions): Promise<ExecResult> {
  return session.exec(["bash", "-lc", run.command], {
    cwd: session.image.workdir,
    ...(run.user === "root" ? { user: "0" } : {}),
    timeoutMs: Math.round(run.timeout_s * 1000),
    outputLimitBytes: OUTPUT_LIMIT_BYTES,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

type Outcome = Pick<Verification, "passed" | "reward" | "tests" | "error">;

async function outcome(session: SandboxSession, rule: SuccessRule, result: ExecResult, options: RunOptions): Promise<Outcome> {
  switch (rule.kind) {
    case "exit_code": {
      const passed = result.exitCode === 0;
      return { passed, reward: passed ? 1 : 0 };
    }
    case "reward_file": {
      const reward = await readReward(session, rule.dir, options);
      if (!reward.ok) return { passed: false, reward: 0, error: reward.error };
      return { passed: reward.value >= 1, reward: reward.value };
    }
    case "tests": {
      const outcomes = parsePytestReport(`${result.stdout}\n${result.stderr}`);
      const notPassed = (ids: string[]): string[] => ids.filter((id) => !outcomePassed(outcomes.get(id)));
      const tests = { fail_to_pass_failed: notPassed(rule.fail_to_pass), pass_to_pass_failed: notPassed(rule.pass_to_pass) };
      // A rule that lists no test would pass anything: then the command's exit status decides.
      const listed = rule.fail_to_pass.length + rule.pass_to_pass.length > 0;
      const passed = listed ? tests.fail_to_pass_failed.length + tests.pass_to_pass_failed.length === 0 : result.exitCode === 0;
      return { passed, reward: passed ? 1 : 0, tests };
    }
  }
}

/** The last lines of stdout, then stderr: what a reader of the trace needs to see why. */
export function outputTail(result: Pick<ExecResult, "stdout" | "stderr">): string {
  const text = [result.stdout.trimEnd(), result.stderr.trimEnd()].filter(Boolean).join("\n");
  const lines = text.split("\n").slice(-TAIL_LINES).join("\n");
  return lines.length > TAIL_CHARS ? lines.slice(-TAIL_CHARS) : lines;
}
