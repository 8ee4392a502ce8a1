import * as z from "zod";
import { hasTemplate, isSingleRef, templateRefs } from "./template.js";

/**
 * Leaf schemas. Each one's error text is what the user should have written ("a positive
 * integer"); the issue mapper shows it as the problem's `expected` line. Custom issues carry
 * their own `message` and `hint` in `params`.
 */

export interface IssueParams {
  message?: string;
  hint?: string;
}

const expecting = (text: string) => ({ error: text });

export function positiveInt() {
  const e = expecting("a positive integer");
  return z.number(e).int(e).positive(e);
}

export function nonNegativeInt() {
  const e = expecting("an integer >= 0");
  return z.number(e).int(e).min(0, e);
}

export function positiveNumber() {
  const e = expecting("a number > 0");
  return z.number(e).positive(e);
}

export function nonNegativeNumber() {
  const e = expecting("a number >= 0");
  return z.number(e).min(0, e);
}

/** A number in [min, max], e.g. a fraction or a temperature. */
export function between(min: number, max: number) {
  const e = expecting(`a number from ${min} to ${max}`);
  return z.number(e).min(min, e).max(max, e);
}

export function nonEmpty(what = "a non-empty string") {
  const e = expecting(what);
  return z.string(e).min(1, e);
}

/** A path relative to the project root; kept as written. */
export function relativePath() {
  return nonEmpty("a path relative to the project directory");
}

export function stringOrList(what: string) {
  return z.union([nonEmpty(), z.array(nonEmpty())], expecting(what));
}

/** Checks the `${NAME}` references in a text where interpolation is allowed. */
function wellFormedRefs(text: string, ctx: z.RefinementCtx): void {
  const refs = templateRefs(text);
  if (refs.ok) return;
  const params: IssueParams = { message: refs.error };
  ctx.addIssue({ code: "custom", message: "references written as ${NAME}", params });
}

/** A header value: literal text or `${NAME}` references. */
export function headerValue() {
  return z.string(expecting("a string")).superRefine(wellFormedRefs);
}

/** An endpoint: a literal http(s) URL, or a template resolved at run time. */
export function baseUrl() {
  return z.string(expecting("an http(s) URL")).superRefine((text, ctx) => {
    if (hasTemplate(text)) return wellFormedRefs(text, ctx);
    if (URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)) return;
    ctx.addIssue({ code: "custom", message: "an http(s) URL, e.g. \"http://localhost:8000/v1\"" });
  });
}

/**
 * An API key is always a reference to an environment variable, so the secret stays out of the
 * file and out of everything derived from it; "" is for local servers that want no key.
 */
export function apiKey(name = "api_key", example = "OPENAI_API_KEY") {
  return z.string(expecting('"${NAME}"')).superRefine((text, ctx) => {
    if (text === "" || isSingleRef(text)) return;
    const params: IssueParams = hasTemplate(text)
      ? { message: `${name} must be exactly one \${NAME} reference` }
      : {
          message: `${name} must not be a literal key`,
          hint: `put the key in an environment variable and write ${name}: "\${${example}}"`,
        };
    ctx.addIssue({ code: "custom", message: '"${NAME}" (or "" for a server that needs no key)', params });
  });
}

/** An eval target: a bare number, or a comparison such as ">= 0.95". */
export function target() {
  const e = expecting('a number or a comparison such as ">= 0.95"');
  const comparison = z.string(e).regex(/^\s*(>=|<=|>|<|==)\s*-?(\d+(\.\d*)?|\.\d+)\s*$/, e);
  return z.union([z.number(e), comparison], e);
}
