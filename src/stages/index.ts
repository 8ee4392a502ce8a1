import { datasetStage } from "./dataset.js";
import { importStage } from "./import.js";
import { tasksStage } from "./tasks.js";
import { trainStage } from "./train.js";
import type { Stage, StageKind } from "./types.js";
import { unavailableStage } from "./unavailable.js";

export type { Stage, StageKind, StagePlugin, MapItem, RunContext } from "./types.js";
export { STAGE_KINDS } from "./types.js";

/** The pipeline, in order. Stages that later versions provide are placeholders that never run. */
export function builtinStages(): Stage[] {
  return [
    importStage(),
    unavailableStage("sandbox", ["import"], "Docker sandboxes come with the rollouts work"),
    tasksStage(),
    unavailableStage("traces", ["import", "sandbox", "tasks"], "teacher rollouts come with the rollouts work"),
    datasetStage(),
    trainStage(),
    unavailableStage("export", ["train"], "GGUF export comes with the training work"),
    unavailableStage("eval", ["import", "sandbox", "tasks", "export"], "comes with the eval and serving work"),
    unavailableStage("report", ["eval"], "comes with the eval and serving work"),
  ];
}

export function stageMap(stages: Stage[]): Map<StageKind, Stage> {
  return new Map(stages.map((s) => [s.kind, s]));
}
