import type { Trace } from "../traces/types.js";
import type { ParsedGrade } from "./parse.js";
import type { Rubric } from "./types.js";

/**
 * The rule every judge is held to, model or stand-in: the dimensions that grade the final answer
 * (completion, correctness, concision) cannot be earned without a valid one. A judge reading a
 * trace that ended in an error may still find nothing false in its empty answer, and nothing
 * long; the trace itself says whether there is an answer, so this part needs no model.
 */

/** Why the trace has no valid final answer; undefined when it has one. */
export function missingAnswer(trace: Pick<Trace, "status" | "contract" | "final_answer">): string | undefined {
  // An answer after the turn cap, or out of the contract, is not one the caller can rely on.
  if (trace.status !== "completed") return `status is ${trace.status}`;
  if (!trace.contract.ok) return `output contract <${trace.contract.tag}> not held`;
  if (trace.final_answer === undefined) return "no final answer";
  return undefined;
}

/**
 * The grade with each answer-graded dimension at 0 when the trace has no valid final answer. A
 * judge's higher score is overruled with a warning; one it left out is filled in, not missing.
 */
export function holdAnswerRule(rubric: Rubric, trace: Trace, grade: ParsedGrade): ParsedGrade {
  const why = missingAnswer(trace);
  if (why === undefined) return grade;
  const dimensions = { ...grade.dimensions };
  const warnings = [...grade.warnings];
  const ruled = new Set<string>();
  for (const d of rubric.dimensions) {
    if (!d.gradesAnswer) continue;
    ruled.add(d.name);
    const given = dimensions[d.name];
    if (given?.score === 0) continue;
    if (given) warnings.push(`${d.name}: score ${given.score} set to 0, the trace has no valid final answer`);
    dimensions[d.name] = { score: 0, reason: `no valid final answer: ${why}` };
  }
  return { ...grade, dimensions, missing: grade.missing.filter((name) => !ruled.has(name)), warnings };
}
