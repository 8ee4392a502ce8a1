import * as z from "zod";
import { didYouMean, type Problem } from "../errors.js";
import type { IssueParams } from "./fields.js";
import type { KeyPath, Locator } from "./locate.js";

/**
 * Zod issues to Problems. Every issue's `message` is the expected text (from the leaf schema, or
 * from `expectedText` below); the problem's own message is written here from the issue code and
 * the value found in the document.
 */

type Issue = z.core.$ZodIssue;

export interface IssueContext {
  /** The document as plain data, to show the value that was found. */
  data: unknown;
  /** The schema the data was checked against, to list the keys allowed at a path. */
  schema: z.ZodType;
  locate: Locator;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

/** Per-parse error map: the expected text for issues whose schema states none. */
export function expectedText(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`;
    case "invalid_value":
      return issue.values.length === 1
        ? show(issue.values[0])
        : `one of ${issue.values.map(show).join(", ")}`;
    case "too_small":
      if (issue.origin === "array") return "a non-empty list";
      if (issue.origin === "string") return "a non-empty string";
      return `a number ${issue.inclusive ? ">=" : ">"} ${issue.minimum}`;
    case "too_big":
      return `a number ${issue.inclusive ? "<=" : "<"} ${issue.maximum}`;
    case "invalid_format":
      return issue.pattern ? `text matching ${issue.pattern}` : `a valid ${issue.format}`;
    default:
      return undefined;
  }
}

export function issuesToProblems(issues: readonly Issue[], ctx: IssueContext, base: KeyPath = []): Problem[] {
  return issues.flatMap((issue) => toProblems(issue, base, ctx));
}

function toProblems(issue: Issue, base: KeyPath, ctx: IssueContext): Problem[] {
  const path = [...base, ...issue.path.map((s) => (typeof s === "symbol" ? String(s) : s))];
  const value = valueAt(ctx.data, path);
  const expected = issue.message;
  const checksValue = issue.code === "invalid_type" || issue.code === "invalid_value" || issue.code === "invalid_union";
  if (checksValue && value === undefined && path.length > 0) {
    return [
      ctx.locate.at(path.slice(0, -1), "key", { message: `missing required key ${show(path.at(-1))}`, expected }),
    ];
  }
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => unknownKey(path, key, ctx));
    case "invalid_union":
      return unionProblems(issue, path, ctx);
    case "invalid_key":
      return [
        ctx.locate.at(path, "key", {
          message: `invalid name ${show(path.at(-1))}`,
          expected: issue.issues[0]?.message,
        }),
      ];
    case "invalid_type":
      return [ctx.locate.at(path, "value", { message: wrongValue(value, issue.expected), expected })];
    case "invalid_value": {
      const options = issue.values.filter((v): v is string => typeof v === "string");
      const suggestion = typeof value === "string" ? didYouMean(value, options) : undefined;
      const hint = suggestion === undefined ? undefined : `did you mean ${show(suggestion)}?`;
      return [ctx.locate.at(path, "value", { message: `invalid value ${show(value)}`, expected, hint })];
    }
    case "custom": {
      const params = (issue.params ?? {}) as IssueParams;
      const message = params.message ?? `invalid value ${show(value)}`;
      return [ctx.locate.at(path, "value", { message, expected, hint: params.hint })];
    }
    default:
      return [ctx.locate.at(path, "value", { message: `invalid value ${show(value)}`, expected })];
  }
}

function unknownKey(path: KeyPath, key: string, ctx: IssueContext): Problem {
  const known = keysAt(ctx.schema, path);
  const suggestion = didYouMean(key, known);
  let hint = suggestion === undefined ? `known keys: ${known.join(", ")}` : `did you mean "${suggestion}"?`;
  if (path.length === 1 && path[0] === "defaults" && (key === "source" || key === "extends")) {
    hint = `${key} cannot be set in defaults; set it on each subagent`;
  }
  return ctx.locate.at([...path, key], "key", { message: `unknown key "${key}"`, hint });
}

/**
 * Reports the branch the user evidently meant: the one that accepted the value's type and has
 * all its required keys (or, failing that, the only one that accepted the type). Otherwise the
 * value matches no form, and the problem is about the value as a whole.
 */
function unionProblems(issue: z.core.$ZodIssueInvalidUnion, path: KeyPath, ctx: IssueContext): Problem[] {
  const value = valueAt(ctx.data, path);
  const typeMatched = issue.errors.filter((branch) => branch.every((i) => i.path.length > 0));
  const complete = typeMatched.filter((branch) =>
    branch.every((i) => !(i.code === "invalid_type" && valueAt(value, i.path as KeyPath) === undefined)),
  );
  const meant = complete.length > 0 ? complete : typeMatched.length === 1 ? typeMatched : [];
  const best = meant.reduce<Issue[] | undefined>((a, b) => (a && a.length <= b.length ? a : b), undefined);
  if (best) return issuesToProblems(best, ctx, path);

  if (isMapping(value)) {
    const known = keysAt(ctx.schema, path);
    const unknown = Object.keys(value).filter((key) => !known.includes(key));
    if (unknown.length > 0) return unknown.map((key) => unknownKey(path, key, ctx));
    const keys = Object.keys(value).map(show);
    const message = keys.length === 0 ? "empty mapping" : `these keys do not go together: ${keys.join(", ")}`;
    return [ctx.locate.at(path, "value", { message, expected: issue.message })];
  }
  const typeOk = issue.errors.some((branch) => branch.some((i) => i.path.length === 0 && i.code !== "invalid_type"));
  const message = typeOk ? `invalid value ${show(value)}` : `wrong type: got ${kindOf(value)}`;
  return [ctx.locate.at(path, "value", { message, expected: issue.message })];
}

/** The kind of value each zod type name accepts, to tell a wrong type from a bad value. */
const KIND_OF_TYPE: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a number",
  boolean: "a boolean",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

function wrongValue(value: unknown, expectedType: string): string {
  if (KIND_OF_TYPE[expectedType] === kindOf(value)) return `invalid value ${show(value)}`;
  return `wrong type: got ${kindOf(value)}`;
}

/** Keys allowed at a path, for "did you mean" and "known keys". */
function keysAt(schema: z.ZodType, path: KeyPath): string[] {
  let candidates = [schema];
  for (const segment of path) {
    candidates = candidates.flatMap((s) => objectsIn(s)).flatMap((s) => childOf(s, segment));
  }
  const keys = candidates.flatMap(objectsIn).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : []));
  return [...new Set(keys)];
}

function objectsIn(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(objectsIn);
  if (schema instanceof z.ZodPipe) return objectsIn(schema.in as z.ZodType);
  if (
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault
  ) {
    return objectsIn(schema.unwrap() as z.ZodType);
  }
  return [schema];
}

function childOf(schema: z.ZodType, segment: string | number): z.ZodType[] {
  if (schema instanceof z.ZodObject) {
    const field = schema.shape[String(segment)] as z.ZodType | undefined;
    return field ? [field] : [];
  }
  if (schema instanceof z.ZodRecord) return [schema.valueType as z.ZodType];
  if (schema instanceof z.ZodArray) return [schema.element as z.ZodType];
  return [];
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return KIND_OF_TYPE[typeof value] ?? typeof value;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (Array.isArray(value) || isMapping(value)) return kindOf(value);
  return String(value);
}
