import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { EngineStage, ItemOutcome, MapItem, RunHooks, UpstreamOutput } from "../engine/types.js";

import type { FileFacts } from "../store/stat-cache.js";
import type { StageKind } from "./kinds.js";

export { STAGE_KINDS, type StageKind } from "./kinds.js";

export type { MapItem, StageInputs, UpstreamOutput, ItemOutcome } from "../engine/types.js";

export interface InputContext {
  project: ProjectConfig;
  subagent: ResolvedSubagent;
  /** The store's stat cache, for facts derived from input files (absent outside a project session). */
  files?: FileFacts;
}

export interface RunContext extends InputContext, Omit<RunHooks, "upstream"> {
  /** Upstream outputs by stage kind (the subagent's own stages), and by name those of `projectDeps`. */
  upstream: Partial<Record<StageKind, UpstreamOutput>> & { [name: string]: UpstreamOutput | undefined };
}

export interface MapSpec {
  /** The upstream kind the items fan out over (see the engine's MapSpec): every other upstream stays in each item's key. */
  over?: StageKind | readonly StageKind[];
  /** Upstream kinds (among `over`) whose items this stage's items need one by one and start on (see the engine's MapSpec). */
  stream?: readonly StageKind[];
  /** Lists the items and returns how to run one; what the items share lives in its closure (see the engine's MapSpec). */
  open(ctx: RunContext): Promise<{ items: MapItem[]; runItem(ctx: RunContext, item: MapItem): Promise<ItemOutcome | void> }>;
}

/** A stage of every subagent's pipeline: the engine's stage, with its deps among the subagent's own stages. */
export interface Stage extends Omit<EngineStage<InputContext>, "run" | "map"> {
  kind: StageKind;
  /** Upstream stage kinds (same subagent) whose outputs this stage reads. */
  deps: StageKind[];
  /**
   * Project-level nodes this stage also reads (upstream name -> node id, e.g. a benchmark's runs
   * for the router), from the project and the subagent. The names must not be stage kinds.
   */
  projectDeps?(project: ProjectConfig, subagent: ResolvedSubagent): Record<string, string>;
  run?(ctx: RunContext): Promise<void>;
  map?: MapSpec;
}

/** The context of a project-level node: no subagent, only the project. */
export interface ProjectContext {
  project: ProjectConfig;
}

/**
 * A node that belongs to the project rather than to one subagent (a benchmark reading several
 * subagents' exports, an index of skill libraries): `<scope>:<kind>`, with deps on any nodes.
 */
export interface ProjectStage extends EngineStage<ProjectContext> {
  /** A project-level name, e.g. `bench/fix-bugs`; never a subagent's name. */
  scope: string;
  /** Upstream name -> node id (`<subagent>:<kind>` or another project node), from the project. */
  deps(project: ProjectConfig): Record<string, string>;
}

/** What a plugin module's default export returns: stages that replace or fill in pipeline kinds, and project-level stages. */
export type StagePlugin = (api: { version: string }) => (Stage | ProjectStage)[] | Promise<(Stage | ProjectStage)[]>;
