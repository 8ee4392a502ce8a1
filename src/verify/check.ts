import type { Solution, Verification, Verifier } from "../envs/types.js";
import { SandboxError, type SandboxSession } from "../sandbox/types.js";
import { runSolution, runVerifier, type RunOptions, type SolutionRun } from "./run.js";

/**
 * `sabuild tasks check` for one task, as Harbor's "nop" and "oracle" agents check a task:
 * the verifier on the untouched environment must fail (else the task is solved before the agent
 * starts), and after the reference solution it must pass (else the verifier, the solution or the
 * environment is wrong). Each half gets a fresh container of the task's environment, so the
 * solution half never sees what the nop half's verifier left behind.
 */

/** Which half of the check a task failed. */
export type CheckHalf = "nop" | "solution";

export interface SolutionHalf {
  run: SolutionRun;
  /** Absent when the solution could not run (its files could not be copied in). */
  verifier?: Verification;
}

export type TaskCheck =
  | {
      status: "ok" | "broken";
      /** The halves that failed, in order; empty when ok. */
      broken: CheckHalf[];
      /** The verifier on the untouched environment: must not pass. */
      nop: Verification;
      /** The reference solution then the verifier: must pass. Absent for a task without a solution. */
      solution?: SolutionHalf;
      duration_ms: number;
    }
  /** The check could not be made (a container that would not start or died): says nothing of the task. */
  | { status: "error"; error: string; duration_ms: number };

export interface TaskToCheck {
  verify: Verifier;
  solution?: Solution;
}

/** A fresh container of the task's environment; the caller labels it and knows its image. */
export type OpenContainer = () => Promise<SandboxSession>;

export async function checkTask(task: TaskToCheck, open: OpenContainer, options: RunOptions = {}): Promise<TaskCheck> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    const nop = await inContainer(open, async (box) => {
      const verification = await runVerifier(box, task.verify, options);
      if (verification.error) await stillThere(box, verification.error);
      return verification;
    });
    const solution = task.solution ? await inContainer(open, (box) => solutionHalf(box, task.verify, task.solution!, options)) : undefined;
    const broken: CheckHalf[] = [];
    if (nop.passed) broken.push("nop");
    if (solution && !solution.verifier?.passed) broken.push("solution");
    return { status: broken.length ? "broken" : "ok", broken, nop, ...(solution ? { solution } : {}), duration_ms: elapsed() };
  } catch (e) {
    if (options.signal?.aborted || !(e instanceof SandboxError)) throw e;
    return { status: "error", error: e.hint ? `${e.message} (${e.hint})` : e.message, duration_ms: elapsed() };
  }
}

async function solutionHalf(box: SandboxSession, verify: Verifier, solution: Solution, options: RunOptions): Promise<SolutionHalf> {
  const run = await runSolution(box, solution, options);
  // A solution that failed or ran out of time may still have done enough: the verifier decides, as it does for an agent.
  if (run.error) return { run };
  const verifier = await runVerifier(box, verify, options);
  if (verifier.error) await stillThere(box, verifier.error);
  return { run, verifier };
}

/**
 * A verifier that could not finish (no reward file, a timeout, the container gone) fails, which
 * is what the nop half wants: make sure the container is still there, so that a dead engine is
 * an error of the check and not a pass of the task.
 */
async function stillThere(box: SandboxSession, why: string): Promise<void> {
  try {
    await box.exec(["true"], { timeoutMs: 30_000 });
  } catch (e) {
    if (e instanceof SandboxError) throw new SandboxError(`${why}; the container no longer answers: ${e.message}`);
    throw e;
  }
}

async function inContainer<T>(open: OpenContainer, use: (box: SandboxSession) => Promise<T>): Promise<T> {
  const box = await open();
  try {
    return await use(box);
  } finally {
    await box.close();
  }
}
