/**
 * sabuild's public API: what a stage plugin imports (`import type { StagePlugin } from
 * "sabuild"`). A deliberate list: anything not exported here is internal and may change in
 * any release. Only light modules are re-exported, so importing this costs no heavy library.
 */

// Writing stages: a subagent's pipeline stage, or a project-level node.
export type {
  InputContext,
  ItemOutcome,
  MapItem,
  MapSpec,
  ProjectContext,
  ProjectStage,
  RunContext,
  Stage,
  StageInputs,
  StageKind,
  StagePlugin,
  UpstreamOutput,
} from "./stages/types.js";
export { STAGE_KINDS } from "./stages/kinds.js";

// What stages see of the project and return.
export type { ProjectConfig, ResolvedSubagent } from "./config/index.js";
export type { Json } from "./engine/key.js";
export type { SpendEstimate } from "./engine/types.js";
export type { Problem } from "./errors.js";
export { err, ok, type Result } from "./result.js";
export { VERSION } from "./version.js";

import type { ProjectStage, Stage, StagePlugin } from "./stages/types.js";

/** Types a plugin's default export without changing it: `export default definePlugin(() => [...])`. */
export function definePlugin(plugin: StagePlugin): StagePlugin {
  return plugin;
}

/** Types one stage of a subagent's pipeline (its hooks get the subagent and project). */
export function defineStage(stage: Stage): Stage {
  return stage;
}

/** Types one project-level stage (its hooks get the project only; deps name any nodes). */
export function defineProjectStage(stage: ProjectStage): ProjectStage {
  return stage;
}
