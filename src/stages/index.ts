import { datasetStage } from "./dataset.js";
import { evalStage } from "./eval.js";
import { exportStage } from "./export.js";
import { importStage } from "./import.js";
import { reportStage } from "./report.js";
import { sandboxStage } from "./sandbox.js";
import { tasksStage } from "./tasks.js";
import { tracesStage } from "./traces.js";
import { trainStage } from "./train.js";
import type { Stage, StageKind } from "./types.js";

export type { Stage, StageKind, StagePlugin, MapItem, RunContext } from "./types.js";
export { STAGE_KINDS } from "./types.js";

/** The pipeline, in order. */
export function builtinStages(): Stage[] {
  return [importStage(), tasksStage(), sandboxStage(), tracesStage(), datasetStage(), trainStage(), exportStage(), evalStage(), reportStage()];
}

export function stageMap(stages: Stage[]): Map<StageKind, Stage> {
  return new Map(stages.map((s) => [s.kind, s]));
}
