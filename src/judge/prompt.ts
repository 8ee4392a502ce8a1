import type { ChatMessage } from "../llm/types.js";
import type { Trace } from "../traces/types.js";
import { renderInstructions, renderTask, renderTrace } from "./render.js";
import type { Rubric } from "./types.js";

/** The reply the judge is asked for, as the prompt shows it. */
function replyShape(rubric: Rubric): string {
  const dimensions = rubric.dimensions.map((d) => `    "${d.name}": {"score": <1-5>, "reason": "<one line>"}`);
  const flags = rubric.flags.map((f) => `    "${f.name}": {"present": <true|false>, "reason": "<one line>"}`);
  return ["{", '  "dimensions": {', dimensions.join(",\n"), "  },", '  "flags": {', flags.join(",\n"), "  }", "}"].join("\n");
}

/** The answer rule in words, so a model judge scores as the rule will hold it (answer-rule.ts). */
function answerRule(rubric: Rubric): string[] {
  const graded = rubric.dimensions.filter((d) => d.gradesAnswer).map((d) => d.name);
  if (!graded.length) return [];
  return [`A transcript without a valid final answer (a status other than completed, or the output contract not held) scores 1 on ${graded.join(", ")}: there is no answer to credit.`];
}

export function judgeSystemPrompt(rubric: Rubric): string {
  return [
    "You are a strict reviewer of coding-agent transcripts. A subagent was given a task and tools (commands run in a sandbox); you read what it did and grade it.",
    "Check every claim of the final answer against the tool results in the transcript: a claim no tool result supports is wrong, however plausible. Long tool results are shown cut, with a marker saying how much is missing; do not count what a marker hides against the subagent.",
    "",
    "Score each dimension from 1 to 5: 5 fully meets it, 4 minor issues, 3 partly, 2 major problems, 1 fails it.",
    ...rubric.dimensions.map((d) => `- ${d.name}: ${d.description}`),
    ...answerRule(rubric),
    "",
    "Then say whether each failure mode is present:",
    ...rubric.flags.map((f) => `- ${f.name}: ${f.description}`),
    "",
    "Give each reason as one short line naming the evidence (a turn, a call id, a claim).",
    "Reply with only this JSON object, no other text:",
    replyShape(rubric),
  ].join("\n");
}

export function judgeUserPrompt(rubric: Rubric, trace: Trace, reference?: Trace, answerTokens?: number): string {
  const parts = [
    "# Subagent instructions",
    renderInstructions(trace),
    "# Task",
    renderTask(trace),
    ...(answerTokens !== undefined ? ["# Answer length", `The final answer handed back to the caller is ${answerTokens} tokens long.`] : []),
    "# Transcript",
    renderTrace(trace, { toolChars: rubric.maxToolChars, totalChars: rubric.maxTranscriptChars }),
  ];
  if (reference) {
    parts.push(
      "# Reference transcript",
      "The same task done by a stronger model. Use it to see what a good answer contains and which facts the tools show; it is one good way, not the only one, and it may be wrong too.",
      renderTrace(reference, {
        toolChars: Math.max(200, Math.floor(rubric.maxToolChars / 2)),
        totalChars: Math.floor(rubric.maxTranscriptChars / 3),
      }),
    );
  }
  parts.push("# Your grade", "Reply with the JSON object only.");
  return parts.join("\n\n");
}

export function judgeMessages(rubric: Rubric, trace: Trace, reference?: Trace, answerTokens?: number): ChatMessage[] {
  return [
    { role: "system", content: judgeSystemPrompt(rubric) },
    { role: "user", content: judgeUserPrompt(rubric, trace, reference, answerTokens) },
  ];
}

/** Sent once after a reply that could not be read, with the reason. */
export function correctiveMessage(rubric: Rubric, why: string): string {
  return [
    `Your reply could not be read: ${why}.`,
    "Reply again with only the JSON object, with every dimension scored 1 to 5 and every flag true or false:",
    replyShape(rubric),
  ].join("\n");
}
