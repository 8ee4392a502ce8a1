/** The rubric judge and the hard checks: used by the dataset (filtering) and eval (metrics). */
export { FAILURE_FLAGS, FLAG_DESCRIPTIONS, type FailureFlag } from "./flags.js";
export type { JudgeResult, JudgeUsage, Rubric, RubricDimension } from "./types.js";
export {
  DEFAULT_DIMENSIONS,
  DEFAULT_FAIL_ON_FLAGS,
  JUDGE_PROMPT_VERSION,
  defaultRubric,
  resolveRubric,
  type RubricSettings,
  type SettingsLocation,
} from "./rubric.js";
export { judgeSetup, judgeKeyParams, type JudgeSetup } from "./settings.js";
export { renderTrace, truncateMiddle, type RenderBudget } from "./render.js";
export { judgeMessages, judgeSystemPrompt, judgeUserPrompt } from "./prompt.js";
export { extractJsonObject, parseJudgeReply, type ParsedGrade } from "./parse.js";
export { judgeTrace, judgeMany, overallScore, type JudgeOptions, type JudgeManyOptions, type JudgeProgress } from "./judge.js";
export { judgeVerdict, summarizeJudgments, type PassPolicy, type Verdict, type JudgeSummary } from "./verdict.js";
export { hardChecks, repeatedToolCalls, type HardCheckLimits, type HardChecks, type RepeatedCall } from "./hard-checks.js";
export { JUDGE_FILE, formatJudgeResult, parseJudgeResult } from "./result-file.js";
export { isJudgeRequest, judgeGrade, judgeStandinPolicy } from "./standin-policy.js";
