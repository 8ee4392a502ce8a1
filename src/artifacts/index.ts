/**
 * Typed readers of the files stages hand each other. Each format has one schema (zod) in its own
 * file; a reader returns the value or an ArtifactError naming the file (relative to the stage
 * output), the line for JSONL and the field that is wrong. These modules load zod: import them
 * where a stage runs (`await import(...)`), never from what plan or a no-op build loads.
 */
export { artifactOr, describeArtifactError, expectArtifact, failArtifact, type ArtifactError, type ArtifactResult } from "./read.js";
export { readSpec, specSchema } from "./spec.js";
export { readImportedTools, importedToolsSchema, functionToolSchema } from "./tools.js";
export { readEnvironments, readSandboxImage, sandboxImageSchema, type BuiltEnvironment } from "./image.js";
export { readTrainTasks, readHeldOutTasks, taskLineSchema, type TaskLine } from "./tasks.js";
export { readTaskSummary, taskSummarySchema, type TaskSummary } from "./task-summary.js";
export { readItemIds, itemIndexSchema } from "./items.js";
export { readTrace, readRowTrace, traceSchema, rowTraceSchema, type RowTrace, type TraceMessage } from "./trace.js";
export { readDatasetStats, datasetStatsSchema } from "./stats.js";
export { readTrainMetrics, trainMetricsSchema, type TrainMetrics } from "./metrics.js";
export { readExportSummary, exportSummarySchema, type ExportSummary } from "./export-summary.js";
export { readEvalResult, evalResultSchema, type ReadEvalResult } from "./eval.js";
export { readBenchResult, readOrchestratorTrace, benchResultSchema, orchestratorTraceSchema, type BenchResultFile, type BenchItemRow } from "./bench.js";
export { readCurve, curveSchema } from "./curve.js";
