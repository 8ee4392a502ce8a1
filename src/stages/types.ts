import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Problem } from "../errors.js";
import type { Json } from "../engine/key.js";
import type { Result } from "../result.js";
import type { SpendEstimate } from "../engine/events.js";

/** The pipeline's stage kinds, in order. */
export const STAGE_KINDS = ["import", "sandbox", "tasks", "traces", "dataset", "train", "export", "eval", "report"] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** What a stage declares about its inputs before running: the engine hashes files and builds the key. */
export interface StageInputs {
  /** Parameter values that shape the output (no secret values: templates only). */
  params: Json;
  /** Input files, relative to the project root (forward slashes): their contents go into the key. */
  files: string[];
  /** Identities of external tools (image digest, package versions). */
  toolchain?: Record<string, string>;
}

export interface InputContext {
  project: ProjectConfig;
  subagent: ResolvedSubagent;
}

/** An upstream stage's output, materialised read-only. */
export interface UpstreamOutput {
  dir: string;
  digest: string;
}

export interface RunContext extends InputContext {
  /** Staging directory: whatever the stage writes here becomes its output. */
  outDir: string;
  upstream: Partial<Record<StageKind, UpstreamOutput>>;
  signal: AbortSignal;
  /** Appends a line to the stage's captured log. */
  log(line: string): void;
  /** Reports progress for the UI (items done of total, money spent so far). */
  progress(update: { done: number; total: number; costUsd?: number }): void;
}

/** One unit of a map stage: its own cache entry, so adding items runs only the new ones. */
export interface MapItem {
  /** Stable and unique within the stage; safe as a directory name. */
  id: string;
  /** Everything the item's result depends on beyond the stage's params and toolchain. */
  input: Json;
}

export interface MapSpec {
  items(ctx: RunContext): Promise<MapItem[]>;
  /** Writes one item's output into ctx.outDir. */
  runItem(ctx: RunContext, item: MapItem): Promise<void>;
}

export interface Stage {
  kind: StageKind;
  /** Bumped when the implementation changes its output: old results stop matching. */
  version: string;
  /** Upstream stage kinds (same subagent) whose outputs this stage reads. */
  deps: StageKind[];
  /** Set when this version of sabuild does not provide the stage: `plan` shows it as unavailable, with this reason. */
  unavailable?: string;
  inputs(ctx: InputContext): Promise<Result<StageInputs, Problem[]>>;
  /** A plain stage writes its outputs in run(); a map stage fans out with map instead. */
  run?(ctx: RunContext): Promise<void>;
  map?: MapSpec;
  /**
   * What running the stage would spend on a paid model, for `plan`. `items` is how many map
   * items would run when known (undefined when an upstream stage must run first).
   */
  estimate?(ctx: InputContext, run: { items?: number }): Promise<SpendEstimate | undefined>;
  /**
   * Checked on the stage's output whenever a build selects it (built or cached): a message
   * fails the build, while the output stays in the store (eval targets that were missed).
   */
  gate?(outputDir: string, ctx: InputContext): Promise<string | undefined>;
}

/** What a plugin module's default export returns: stages that replace or fill in pipeline kinds. */
export type StagePlugin = (api: { version: string }) => Stage[] | Promise<Stage[]>;
