import { ok } from "../result.js";
import type { Stage, StageKind } from "./types.js";

/**
 * A pipeline stage that this version of sabuild does not provide yet. It keeps the pipeline's
 * shape visible in `plan` and lets a plugin fill the slot, but it never pretends to run.
 */
export function unavailableStage(kind: StageKind, deps: StageKind[], what: string): Stage {
  return {
    kind,
    version: "0",
    deps,
    unavailable: `${kind} stage is not available in this version of sabuild (${what})`,
    inputs: async () => ok({ params: null, files: [] }),
  };
}
