import type { Problem } from "../errors.js";
import type { Json } from "./key.js";
import type { Result } from "../result.js";

/**
 * What the engine knows of a stage: inputs declared before running, then a run or a map over
 * items. `C` is whatever the graph's builder hands each node (for sabuild's pipeline: the
 * project and, for a subagent's node, the subagent); the engine passes it through untouched.
 */
export interface EngineStage<C extends object> {
  kind: string;
  /** Bumped when the implementation changes its output: old results stop matching. */
  version: string;
  /** Set when the stage cannot run here: plan shows it as unavailable, with this reason. */
  unavailable?: string;
  inputs(ctx: C): Promise<Result<StageInputs, Problem[]>>;
  /** A plain stage writes its outputs in run(); a map stage fans out with map instead. */
  run?(ctx: C & RunHooks): Promise<void>;
  map?: MapSpec<C>;
  /** What running the stage would spend, for `plan`; `items` is how many map items would run, when known. */
  estimate?(ctx: C, run: { items?: number }): Promise<SpendEstimate | undefined>;
  /** Checked on the output whenever a build selects the stage (built or cached): a message fails the build, the output stays. */
  gate?(outputDir: string, ctx: C): Promise<string | undefined>;
}

/** What a stage declares about its inputs before running: the engine hashes files and builds the key. */
export interface StageInputs {
  /** Parameter values that shape the output (no secret values: templates only). */
  params: Json;
  /** Input files, relative to the project root (forward slashes): their contents go into the key. */
  files: string[];
  /** Identities of external tools (image digest, package versions). */
  toolchain?: Record<string, string>;
}

/** An upstream node's output, materialised read-only. */
export interface UpstreamOutput {
  dir: string;
  digest: string;
}

export type LogLevel = "info" | "warn";

/** What the engine adds to a node's context while its stage runs. */
export interface RunHooks {
  /** Staging directory: whatever the stage writes here becomes its output. */
  outDir: string;
  /** Upstream outputs by the name the node's deps give them (a kind, or a node id across scopes). */
  upstream: Record<string, UpstreamOutput>;
  signal: AbortSignal;
  /** Appends a line to the stage's captured log; renderers show warnings above the rest. */
  log(line: string, level?: LogLevel): void;
  /** Reports progress for the UI (items done of total, money spent so far). */
  progress(update: { done: number; total: number; costUsd?: number }): void;
  /** A map stage's open() only: the content digests of the node's input files, as its key has them. */
  fileDigests?: Record<string, string>;
}

/** One unit of a map stage: its own cache entry, so adding items runs only the new ones. */
export interface MapItem {
  /** Stable and unique within the stage; safe as a directory name. */
  id: string;
  /** Everything the item's result depends on beyond the stage's params, toolchain and other upstreams. */
  input: Json;
  /**
   * Items of upstream map stages this item reads, by upstream name -> that stage's item id (a
   * rollout needs its environment's image). The item waits for those items only, their output
   * digests join its key in place of the whole upstream's, and its run hooks' `upstream` holds
   * those items' outputs under the same names. A plain upstream stage stands whole for any id.
   * The names must be among `map.over`.
   */
  needs?: Record<string, string>;
}

/**
 * How one map item ended. A thrown error is `failed`; `stopped` is a limit the stage enforces
 * (a spend budget): not a fault of the item, and raising the limit and building again reuses
 * everything that finished.
 */
export type ItemOutcome = { outcome: "done" } | { outcome: "stopped"; why: string; hint?: string };

export interface MapSpec<C extends object> {
  /**
   * The upstream (by name, e.g. "tasks") whose output the items fan out over: an item's key
   * leaves out that one digest, its own input standing for its share of it. Every other
   * upstream stays in each item's key. Unset: every upstream stays. A list names several: the
   * item's input must then hold its share of each (the digest of the part of it the item reads).
   */
  over?: string | readonly string[];
  /**
   * Upstreams (among `over`) whose items this stage's items need one by one (`MapItem.needs`):
   * the stage opens as soon as the rest of its upstreams are done, without waiting for these to
   * finish, and each item starts when the items it needs have ended. An item whose need failed
   * fails with that item's message; the others go on. `open` sees no entry for these names.
   */
  stream?: readonly string[];
  /**
   * Input files (paths as the stage's inputs list them) that the items fan out over, as `over`
   * does for upstreams: an item's key leaves their digests out, and its input must carry the
   * digests of those it reads (open() sees them all in `fileDigests`). Editing one reruns only the
   * items that read it; the node's own key, and so plan, still sees every edit.
   */
  overFiles?: readonly string[];
  /**
   * Top-level params that reach each item through its input, as `overFiles` does for files: an
   * item's key leaves them out, so a change reruns only the items whose input it changes (a
   * teacher's model, say, reruns the arm that teacher plays). The node's key still holds them.
   */
  overParams?: readonly string[];
  /**
   * Lists the items and returns how to run one. What a run's items share (a client, a budget,
   * an image) lives in this closure, not in module state; it is opened once per build of the
   * stage (and by plan, only to count the items, so it must start nothing costly).
   */
  open(ctx: C & RunHooks): Promise<OpenedMap<C>>;
}

export interface OpenedMap<C extends object> {
  items: MapItem[];
  /** Writes one item's output into ctx.outDir; nothing returned means done. */
  runItem(ctx: C & RunHooks, item: MapItem): Promise<ItemOutcome | void>;
  /**
   * Releases what the items shared (a model server, a client) once every item has ended, run or
   * not, and also when the build is cancelled or an item failed. Not called by plan.
   */
  close?(): Promise<void>;
}

/**
 * A node of the graph: `<scope>:<kind>`, where the scope is a subagent or a project-level name
 * (e.g. `bench/fix-bugs`). Its deps may be any nodes, named as the stage reads them.
 */
export interface EngineNode<C extends object = object> {
  id: string;
  scope: string;
  kind: string;
  stage: EngineStage<C>;
  context: C;
  /** Upstream name (the key of `upstream` in its preimage and run hooks) -> node id. */
  deps: Record<string, string>;
}

/** Why a node did not produce an output: data, rendered by each renderer in its own way. */
export type StageFailure =
  | { reason: "inputs"; problems: Problem[] }
  | { reason: "threw"; message: string; log: string }
  | { reason: "items"; failed: { id: string; message: string }[]; stopped: number; kept: number; total: number; log: string }
  | { reason: "stopped"; why: string; hint?: string; stopped: number; kept: number; total: number }
  | { reason: "upstream"; stage: string }
  | { reason: "cancelled" };

/** Map stages: items run, reused from the store, fetched from the remote cache, failed, stopped. */
export interface ItemCounts {
  run: number;
  reused: number;
  fetched: number;
  failed: number;
  stopped: number;
}

/** A stage's expected model spend, before it runs (rough: see the stage's estimate()). */
export interface SpendEstimate {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  usd: number;
  /** False when no price is known for the model: usd is then 0. */
  priced: boolean;
}
