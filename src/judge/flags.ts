/**
 * The failure modes the judge flags in every trace. Kept apart from the rubric (and free of
 * imports) because the config schema names them too.
 */
export const FAILURE_FLAGS = ["hallucinated_tool_output", "looping", "gave_up_early", "ignored_tool_error"] as const;
export type FailureFlag = (typeof FAILURE_FLAGS)[number];

export const FLAG_DESCRIPTIONS: Record<FailureFlag, string> = {
  hallucinated_tool_output:
    "The final answer or an assistant message states a tool output, file content, test result or command outcome that no tool result in the transcript shows.",
  looping: "The subagent repeats the same or nearly the same tool call without learning anything new from it.",
  gave_up_early: "The subagent stops or answers before doing work the task needs, although turns and tools were left.",
  ignored_tool_error: "A tool call failed (error, non-zero exit, missing file) and the subagent went on as if it had succeeded.",
};
