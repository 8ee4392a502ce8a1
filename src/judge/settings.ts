import type { Problem } from "../errors.js";
import type { ResolvedSubagent } from "../config/schema.js";
import type { Json } from "../engine/key.js";
import { err, ok, type Result } from "../result.js";
import { resolveRubric } from "./rubric.js";
import type { Rubric } from "./types.js";

/** Who judges a subagent's traces and by which rubric. */
export interface JudgeSetup {
  /** Endpoint and key as templates (`${VAR}`): resolve them when making the client. */
  base_url: string;
  api_key: string;
  model: string;
  rubric: Rubric;
}

/**
 * The judge of a subagent: `eval.judge`, or the teacher with the built-in rubric when the
 * subagent has no judge section (the dataset may still filter by `dataset.judge_threshold`).
 */
export function judgeSetup(subagent: ResolvedSubagent, file = "subagents.yaml"): Result<JudgeSetup, Problem[]> {
  const judge = subagent.eval.judge;
  const rubric = resolveRubric(judge ?? {}, { file, keyPath: ["subagents", subagent.name, "eval", "judge"] });
  if (!rubric.ok) return err(rubric.error);
  return ok({
    base_url: judge?.base_url ?? subagent.teacher.base_url,
    api_key: judge?.api_key ?? subagent.teacher.api_key,
    model: judge?.model ?? subagent.teacher.model,
    rubric: rubric.value,
  });
}

/**
 * What a stage that judges must put in its params: everything that changes a judgment. The
 * key stays a template, never its value.
 */
export function judgeKeyParams(setup: JudgeSetup): Json {
  return { model: setup.model, base_url: setup.base_url, rubric_digest: setup.rubric.digest };
}

/** The judge's endpoint is the teacher's stand-in when the teacher is one and the judge names no endpoint of its own. */
export function usesStandin(subagent: ResolvedSubagent, setup: JudgeSetup): boolean {
  return subagent.teacher.standin !== undefined && setup.base_url === subagent.teacher.base_url;
}

/** What a judging stage puts in its key (here, not in client.ts: dataset's inputs() needs it without the HTTP client): the endpoint as configured (or the stand-in), never the key. */
export function judgeIdentity(subagent: ResolvedSubagent, setup: JudgeSetup): Json {
  return { model: setup.model, endpoint: usesStandin(subagent, setup) ? `standin:${subagent.teacher.standin}` : setup.base_url, rubric_digest: setup.rubric.digest };
}
