import type { Stage, StageKind } from "./types.js";

export type { Stage, StageKind, StagePlugin, MapItem, RunContext } from "./types.js";
export { STAGE_KINDS } from "./types.js";

/**
 * The pipeline, in order, each stage's file loaded when asked for: a stage a plugin replaces
 * is never loaded, nor what its declaration imports (the built-in train stage brings the trainer
 * venv's identity, export the llama.cpp tool dirs, eval the judge's settings: ~30 modules of a
 * no-op build whose plugin provides those kinds).
 */
const BUILTIN: ReadonlyArray<readonly [StageKind, () => Promise<Stage>]> = [
  ["import", async () => (await import("./import.js")).importStage()],
  ["tasks", async () => (await import("./tasks.js")).tasksStage()],
  ["sandbox", async () => (await import("./sandbox.js")).sandboxStage()],
  ["traces", async () => (await import("./traces.js")).tracesStage()],
  ["dataset", async () => (await import("./dataset.js")).datasetStage()],
  ["train", async () => (await import("./train.js")).trainStage()],
  ["export", async () => (await import("./export.js")).exportStage()],
  ["eval", async () => (await import("./eval.js")).evalStage()],
  ["router", async () => (await import("./router.js")).routerStage()],
  ["report", async () => (await import("./report.js")).reportStage()],
];

/** The built-in stages, in pipeline order, but for the kinds in `replaced` (a plugin provides them). */
export async function builtinStages(replaced: ReadonlySet<string> = new Set()): Promise<Stage[]> {
  return Promise.all(BUILTIN.filter(([kind]) => !replaced.has(kind)).map(([, load]) => load()));
}

export function stageMap(stages: Stage[]): Map<StageKind, Stage> {
  return new Map(stages.map((s) => [s.kind, s]));
}
