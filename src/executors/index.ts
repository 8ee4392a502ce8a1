import { join, relative, sep } from "node:path";
import type { ExecutorConfig } from "../config/executor-schema.js";
import type { Problem } from "../errors.js";
import { localExecutor, type Executor } from "../engine/executor.js";
import type { EngineNode } from "../engine/types.js";
import type { Session } from "../project.js";
import { err, ok, type Result } from "../result.js";
import { jobEnv, type ExecLaunch } from "./job-command.js";

/**
 * Where each node runs: the executor its subagent's `executor:` names for its kind, else this
 * machine. A remote executor needs a read-write remote cache (its jobs upload what they build,
 * the build takes it back from there): without one, a config problem at the executor's line.
 */

/** The executor name a node's config gives it ("local" when none, or for project-level nodes). */
export function executorNameOf(node: EngineNode): string {
  const subagent = (node.context as { subagent?: { executor?: Partial<Record<string, string>> } }).subagent;
  return subagent?.executor?.[node.kind] ?? "local";
}

export type Placement = (node: EngineNode) => Executor;

/** `override` "local" (`--executor local`) runs everything here for one build. */
export async function placementFor(session: Session, nodes: readonly EngineNode[], override?: string): Promise<Result<Placement, Problem[]>> {
  const executors = session.project.executors;
  const pick = (node: EngineNode): string => override ?? executorNameOf(node);
  const used = new Set(nodes.filter((n) => !n.stage.unavailable).map(pick));
  used.delete("local");
  if (!used.size) return ok(() => localExecutor);
  const shown = relative(session.project.root, session.project.file);
  const problems: Problem[] = [];
  for (const name of used) {
    if (!executors[name]) {
      problems.push({ file: shown, line: 0, column: 0, keyPath: [], message: `--executor ${name}: no such executor`, hint: `local, or one of ${Object.keys(executors).join(", ") || "(none defined)"}` });
      continue;
    }
    const remote = session.remote?.settings;
    if (remote?.mode === "readwrite") continue;
    problems.push({
      file: shown,
      line: 0,
      column: 0,
      keyPath: ["executors", name],
      message: `executor ${name} needs a read-write remote cache: its jobs upload their results there, and this build takes them back from it`,
      hint: remote
        ? "the remote cache is read-only here: set remote_cache.mode: readwrite (or --remote-cache readwrite)"
        : "add remote_cache: {url: ...} (or set SABUILD_REMOTE_CACHE), or build with --executor local",
    });
  }
  if (problems.length) {
    const { locateInConfig } = await import("../config/positions.js");
    return err(await locateInConfig(problems, session.project.file, shown));
  }
  const built = new Map<string, Executor>();
  for (const name of used) built.set(name, await makeExecutor(name, executors[name]!, session));
  return ok((node) => built.get(pick(node)) ?? localExecutor);
}

async function makeExecutor(name: string, cfg: ExecutorConfig, session: Session): Promise<Executor> {
  const bundle = cfg.ship === "bundle";
  // The job opens the same config file, in the checkout or the bundle (which keeps its name).
  const config = relative(session.project.root, session.project.file).split(sep).join("/");
  const launch: ExecLaunch = {
    workdir: cfg.workdir ?? (bundle ? "/tmp" : session.project.root),
    // placementFor checked that the remote cache is there and writable.
    ...(bundle ? { pack: (await import("./ship.js")).inputsPacker(session.project, session.store, session.remote!) } : {}),
    // The Node and CLI of this build, unless the nodes run sabuild some other way.
    ...(config !== "subagents.yaml" ? { config } : {}),
    sabuild: cfg.sabuild ? cfg.sabuild.split(/\s+/) : [process.execPath, process.argv[1]!],
    ...(cfg.store ? { store: cfg.store } : {}),
    jobs: cfg.jobs_per_task,
    env: jobEnv(process.env, session.project.envRefs),
  };
  switch (cfg.type) {
    case "slurm":
      return (await import("./slurm.js")).slurmExecutor(name, cfg, launch, join(session.store.root, "executors", name));
    case "ray":
      return (await import("./ray.js")).rayExecutor(name, cfg, launch);
  }
}
