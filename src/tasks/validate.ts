import { words } from "./minhash.js";

/**
 * A cheap check of one generated task before it is kept. It catches what models get wrong
 * most often when asked for lists: empty items, one-word fragments, prose around the list
 * ("Here are five tasks:"), unfilled placeholders, run-on essays, and items that have nothing to
 * do with the subagent. The last test is lexical: a task must share at least one content word
 * (compared by its first five letters, a crude stemmer) with the subagent's description,
 * instructions, tools, workspace files or the topic it was written for. That is permissive on
 * purpose; `tasks.generate.scope_check` asks the teacher for a real judgement.
 */

export const MIN_CHARS = 12;
export const MIN_WORDS = 3;
export const MAX_CHARS = 2000;

export type Rejection = "empty" | "too short" | "too long" | "not a task" | "placeholder" | "out of scope";

const STOP = new Set(
  "a an and are as at be but by can could do does for from has have how i if in into is it its me my of on or our please should so that the their them then there these this those to use using was we what when where which while who why will with would you your".split(
    " ",
  ),
);

const PREAMBLE = /^(here (are|is)|sure\b|certainly\b|of course\b|below (are|is)|the following)/i;
const PLACEHOLDER = /\[(insert|your|placeholder)[^\]]*\]|<(insert|your|placeholder)[^>]*>|\{\{[^}]*\}\}|\blorem ipsum\b/i;

/** Trims list markers and quotes a model left around an item. */
export function cleanTaskText(text: string): string {
  return text
    .trim()
    .replace(/^(?:task\s*\d*\s*[:.-]\s*)/i, "")
    .replace(/^["'`](.*)["'`]$/s, "$1")
    .trim();
}

/** The stems of the content words of a text. */
export function contentStems(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of words(text)) {
    for (const part of w.split(/[^\p{L}\p{N}]+/u)) {
      if (part.length >= 3 && !STOP.has(part)) out.add(part.slice(0, 5));
    }
  }
  return out;
}

/** Why the task is rejected, or undefined when it is kept. `scope` is the output of contentStems. */
export function rejectTask(text: string, scope: Set<string>): Rejection | undefined {
  if (!text.trim()) return "empty";
  if (text.length < MIN_CHARS || words(text).length < MIN_WORDS) return "too short";
  if (text.length > MAX_CHARS) return "too long";
  if (PREAMBLE.test(text) || /:\s*$/.test(text)) return "not a task";
  if (PLACEHOLDER.test(text)) return "placeholder";
  for (const stem of contentStems(text)) if (scope.has(stem)) return undefined;
  return "out of scope";
}
