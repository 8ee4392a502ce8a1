import { balancedEnd, parseLenientJson } from "../lenient-json.js";
import { err, ok, type Result } from "../result.js";
import type { JudgeResult, Rubric } from "./types.js";

/**
 * Reading a judge's reply. Models wrap JSON in code fences, add a sentence before or after it,
 * leave trailing commas, or write scores as "4/5"; all of that is accepted. What cannot be read
 * is an error value with the reason, which the corrective retry quotes back to the model.
 */

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

function tryParse(text: string): JsonObject | undefined {
  const value = parseLenientJson(text);
  return isObject(value) ? value : undefined;
}

function candidates(text: string): JsonObject[] {
  const found: JsonObject[] = [];
  for (const fence of text.matchAll(/```[\w-]*[ \t]*\r?\n?([\s\S]*?)```/g)) {
    const parsed = tryParse(fence[1]!.trim());
    if (parsed) found.push(parsed);
  }
  const whole = tryParse(text.trim());
  if (whole) found.push(whole);
  for (let i = text.indexOf("{"); i >= 0; ) {
    const end = balancedEnd(text, i);
    const parsed = end > i ? tryParse(text.slice(i, end + 1)) : undefined;
    if (parsed) found.push(parsed);
    i = text.indexOf("{", parsed ? end + 1 : i + 1);
  }
  return found;
}

/** The JSON object in a reply: the first that looks like a grade, else the first at all. */
export function extractJsonObject(text: string | null | undefined): Result<JsonObject, string> {
  if (!text?.trim()) return err("the reply is empty");
  const found = candidates(text);
  const graded = found.find((o) => "dimensions" in o || "flags" in o || "scores" in o);
  const chosen = graded ?? found[0];
  return chosen ? ok(chosen) : err("the reply holds no JSON object");
}

/** snake_case, so "Task Completion" and "task-completion" find task_completion. */
export function normalizeName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** Entries by normalised name, from an object or from a list of {name, ...} entries. */
function entries(source: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (Array.isArray(source)) {
    for (const item of source) {
      if (isObject(item) && typeof item.name === "string") out.set(normalizeName(item.name), item);
    }
  } else if (isObject(source)) {
    for (const [key, value] of Object.entries(source)) out.set(normalizeName(key), value);
  }
  return out;
}

function firstOf(o: JsonObject, keys: string[]): unknown {
  for (const k of keys) if (k in o) return o[k];
  return undefined;
}

function reasonOf(entry: unknown): string {
  const raw = isObject(entry) ? firstOf(entry, ["reason", "explanation", "justification", "rationale", "evidence"]) : undefined;
  if (typeof raw !== "string") return "";
  const line = raw.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

function scoreOf(entry: unknown): number | undefined {
  const raw = isObject(entry) ? firstOf(entry, ["score", "rating", "value", "grade"]) : entry;
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== "string") return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)/.exec(raw);
  return m ? Number(m[1]) : undefined;
}

function presentOf(entry: unknown): boolean | undefined {
  const raw = isObject(entry) ? firstOf(entry, ["present", "flagged", "value", "detected"]) : entry;
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "number") return raw !== 0;
  if (typeof raw !== "string") return undefined;
  const word = raw.trim().toLowerCase();
  if (["true", "yes", "present", "1"].includes(word)) return true;
  if (["false", "no", "absent", "none", "0"].includes(word)) return false;
  return undefined;
}

export type ParsedGrade = Pick<JudgeResult, "dimensions" | "flags" | "missing" | "warnings">;

/**
 * Reads a judge reply against the rubric. Scores are on 1..5, clamped into range and stored as
 * 0..1; dimensions or flags the reply leaves out are listed in `missing`. A reply with no
 * dimension score at all is an error.
 */
export function parseJudgeReply(text: string | null | undefined, rubric: Rubric): Result<ParsedGrade, string> {
  const extracted = extractJsonObject(text);
  if (!extracted.ok) return extracted;
  const reply = extracted.value;
  const grade: ParsedGrade = { dimensions: {}, flags: {}, missing: [], warnings: [] };

  const dimensionSource = firstOf(reply, ["dimensions", "scores"]);
  const given = entries(dimensionSource ?? reply);
  for (const d of rubric.dimensions) {
    const entry = given.get(d.name);
    const raw = entry === undefined ? undefined : scoreOf(entry);
    if (raw === undefined) {
      grade.missing.push(d.name);
      if (entry !== undefined) grade.warnings.push(`${d.name}: no numeric score`);
      continue;
    }
    const clamped = Math.min(5, Math.max(1, raw));
    if (clamped !== raw) grade.warnings.push(`${d.name}: score ${raw} clamped to ${clamped}`);
    grade.dimensions[d.name] = { score: Math.round(((clamped - 1) / 4) * 10_000) / 10_000, reason: reasonOf(entry) };
  }
  if (Object.keys(grade.dimensions).length === 0) {
    return err(`no dimension scores in the reply (expected "dimensions" with ${rubric.dimensions.map((d) => d.name).join(", ")})`);
  }
  if (dimensionSource !== undefined) {
    const known = new Set(rubric.dimensions.map((d) => d.name));
    for (const name of given.keys()) if (!known.has(name)) grade.warnings.push(`ignored unknown dimension "${name}"`);
  }

  const flagsGiven = entries(firstOf(reply, ["flags", "failure_modes"]) ?? reply);
  for (const f of rubric.flags) {
    const entry = flagsGiven.get(f.name);
    const present = entry === undefined ? undefined : presentOf(entry);
    if (present === undefined) grade.missing.push(f.name);
    else grade.flags[f.name] = { present, reason: reasonOf(entry) };
  }
  return ok(grade);
}
