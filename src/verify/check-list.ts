import type { BuiltEnvironment } from "../artifacts/image.js";
import type { TaskLine } from "../artifacts/tasks.js";
import { canonicalJson, type Json } from "../engine/key.js";
import { envId } from "../envs/identity.js";
import type { Solution, Verifier } from "../envs/types.js";

/** One subagent's tasks (train and held out) and the environments its sandbox stage built. */
export interface SubagentTasks {
  subagent: string;
  tasks: TaskLine[];
  envs: Map<string, BuiltEnvironment>;
}

/** A task to check, once for every subagent that has it in the same image. */
export interface CheckJob {
  task: string;
  /** The subagent whose environments open its containers (the first that lists it). */
  subagent: string;
  subagents: string[];
  env: string;
  verify: Verifier;
  solution?: Solution;
}

/** A task that is not checked: it has no verifier, or its environment was not built. */
export interface SkippedTask {
  task: string;
  subagents: string[];
  env: string;
  status: "unchecked" | "error";
  reason: string;
}

/**
 * The checks to run, in the order the subagents list their tasks. Two subagents reading the
 * same task file share its tasks: a task with the same id, verifier and solution in the same
 * image is checked once (the image, not the environment's id, since "default" is each
 * subagent's own recipe). `only` keeps the named task ids.
 */
export function listChecks(sources: SubagentTasks[], only?: ReadonlySet<string>): { jobs: CheckJob[]; skipped: SkippedTask[] } {
  const jobs = new Map<string, CheckJob>();
  const skipped = new Map<string, SkippedTask>();
  for (const { subagent, tasks, envs } of sources) {
    for (const task of tasks) {
      if (only && !only.has(task.id)) continue;
      const env = envId(task.env);
      const built = envs.get(env);
      const same = canonicalJson({ id: task.id, image: built?.image.id ?? env, verify: (task.verify ?? null) as Json, solution: (task.solution ?? null) as Json });
      const seen = jobs.get(same) ?? skipped.get(same);
      if (seen) {
        seen.subagents.push(subagent);
        continue;
      }
      if (!task.verify) skipped.set(same, { task: task.id, subagents: [subagent], env, status: "unchecked", reason: "no verifier" });
      // The sandbox stage builds every task's environment: one missing is a plugin's sandbox stage that did not.
      else if (!built) skipped.set(same, { task: task.id, subagents: [subagent], env, status: "error", reason: `its environment ${env} was not built by ${subagent}:sandbox (built: ${[...envs.keys()].join(", ") || "none"})` });
      else jobs.set(same, { task: task.id, subagent, subagents: [subagent], env, verify: task.verify, ...(task.solution ? { solution: task.solution } : {}) });
    }
  }
  return { jobs: [...jobs.values()], skipped: [...skipped.values()] };
}
