import type { BenchResultFile } from "../artifacts/bench.js";
import type { OrchestratorTrace } from "../bench/types.js";

/** Everything a benchmark's report page needs; the report node reads it from its upstreams. */
export interface BenchReportInput {
  generatedAt: string;
  /** bench.json of bench/<name>:bench. */
  result: BenchResultFile;
  /** The runs node's traces, by item id (`<task>.<arm>.s<n>`). */
  traces: Record<string, OrchestratorTrace>;
  /** Notes shown at the top beside the stand-in notes the traces call for (e.g. a trace left out). */
  notes: string[];
}
