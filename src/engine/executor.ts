import type { EngineNode, ItemOutcome, MapItem, OpenedMap, RunHooks } from "./types.js";

/**
 * Where a stage's work runs. The engine decides (keys, staging, commits) either way. The local
 * executor runs a plain stage's `run` or one map item into the staging directory it is given;
 * a remote executor submits `sabuild exec` jobs to a cluster, whose results come back through
 * the remote cache, where the engine looks them up as it would any result built elsewhere.
 */
export type Executor = LocalExecutor | RemoteExecutor;

export interface LocalExecutor {
  readonly name: string;
  readonly where: "local";
  run(node: EngineNode, hooks: RunHooks): Promise<void>;
  runItem(node: EngineNode, opened: OpenedMap<object>, hooks: RunHooks, item: MapItem): Promise<ItemOutcome>;
}

/**
 * What `sabuild exec` needs beyond its own checkout: the upstream outputs the key was computed
 * with (fetched from the remote cache) and, per map item, its key and the upstream items it
 * needs. Everything else of the key (params, files, toolchain) the job computes itself, so a
 * different checkout or toolchain on the node shows up as a key mismatch, not a wrong result.
 */
export interface ExecOrder {
  upstream: Record<string, string>;
  items?: Record<string, { key: string; needs?: Record<string, string> }>;
}

/** One submission: a plain stage is one task with an empty slice; a map stage one task per slice of items. */
export interface RemoteJob {
  node: string;
  key: string;
  order: ExecOrder;
  slices: string[][];
  /**
   * The project files the key read (project-relative path to digest): what an executor that
   * ships the inputs instead of relying on a shared checkout packs for the job.
   */
  files: Record<string, string>;
}

/** Items of a task that ended `stopped` (a limit the stage enforces, e.g. a spend budget), by id. */
export type TaskStops = Record<string, { why: string; hint?: string }>;

/**
 * How a task ended on the cluster; the engine still checks the remote cache for its results.
 * `stopped` names the items the job reported stopped: they come back as stopped, as they would
 * locally, not as failures of the task.
 */
export type TaskEnd = ({ ok: true; id: string } | { ok: false; id: string; message: string }) & { stopped?: TaskStops };

export interface RemoteExecutor {
  readonly name: string;
  readonly where: "remote";
  /** Items of a map stage that one task runs. */
  readonly itemsPerTask: number;
  /**
   * Submits the job; one promise per slice, settled when its task ends (a failed submission
   * settles all of them). Aborting `signal` cancels what is still queued or running.
   */
  submit(job: RemoteJob, signal: AbortSignal, log: (line: string) => void): Promise<TaskEnd>[];
}

export const localExecutor: LocalExecutor = {
  name: "local",
  where: "local",
  async run(node, hooks) {
    if (!node.stage.run) throw new Error(`stage ${node.kind} has neither run nor map`);
    await node.stage.run({ ...node.context, ...hooks });
  },
  async runItem(node, opened, hooks, item) {
    return (await opened.runItem({ ...node.context, ...hooks }, item)) ?? { outcome: "done" };
  },
};
