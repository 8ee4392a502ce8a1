import type { ResolvedSubagent } from "../config/index.js";
import type { WorkspaceListing } from "./workspace.js";

/**
 * Everything that shapes teacher-written tasks, as it goes into the tasks stage's key. The
 * teacher's endpoint is keyed as written (`${VAR}` templates stay templates) and its api_key
 * never: a new key must not make anything stale, and a secret must not reach a key. The
 * subagent's description, prompt and tools reach the key through the import stage's output
 * digest (an upstream of this stage).
 */
export interface GenerationParams {
  count: number;
  depth: number;
  degree: number;
  per_leaf: number;
  dedup_threshold: number;
  scope_check: boolean;
  budget: { tokens?: number; usd?: number } | null;
  teacher: {
    model: string;
    base_url: string;
    temperature: number;
    max_tokens: number;
    /** Turns token counts into USD, so it shapes where a usd budget stops. */
    pricing: { input_per_mtok: number; output_per_mtok: number } | null;
  };
  workspace: WorkspaceListing;
}

export function generationParams(subagent: ResolvedSubagent, workspace: WorkspaceListing): GenerationParams {
  const { count, generate, budget } = subagent.tasks;
  const teacher = subagent.teacher;
  return {
    count,
    depth: generate.depth,
    degree: generate.degree,
    per_leaf: generate.per_leaf,
    dedup_threshold: generate.dedup_threshold,
    scope_check: generate.scope_check,
    budget: budget ?? null,
    teacher: {
      model: teacher.model,
      base_url: teacher.base_url,
      temperature: teacher.temperature,
      max_tokens: teacher.max_tokens,
      pricing: teacher.pricing ?? null,
    },
    workspace,
  };
}
