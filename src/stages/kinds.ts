/** The pipeline's stage kinds, in order: a leaf module, so config's schema can name them without importing stages. */
export const STAGE_KINDS = ["import", "tasks", "sandbox", "traces", "dataset", "train", "export", "eval", "router", "report"] as const;
export type StageKind = (typeof STAGE_KINDS)[number];
