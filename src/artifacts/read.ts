import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type * as z from "zod";
import { formatKeyPath } from "../errors.js";
import { err, ok, type Result } from "../result.js";

/**
 * Why a stage's output file could not be read as its format. `file` is relative to the stage's
 * output directory (e.g. "items/t1.s0/trace.json"), `line` is set for JSONL files.
 */
export type ArtifactError =
  | { reason: "missing"; file: string }
  | { reason: "unreadable"; file: string; message: string }
  | { reason: "not-json"; file: string; line?: number; message: string }
  | { reason: "invalid"; file: string; line?: number; issues: { path: (string | number)[]; message: string }[] };

export type ArtifactResult<T> = Result<T, ArtifactError>;

const SHOWN_ISSUES = 3;

/** One line: `tasks.jsonl:3: prompt: expected string, received number`. */
export function describeArtifactError(e: ArtifactError): string {
  const where = "line" in e && e.line !== undefined ? `${e.file}:${e.line}` : e.file;
  switch (e.reason) {
    case "missing":
      return `${where}: no such file`;
    case "unreadable":
      return `${where}: cannot be read (${e.message})`;
    case "not-json":
      return `${where}: not JSON (${e.message})`;
    case "invalid": {
      const shown = e.issues.slice(0, SHOWN_ISSUES).map((i) => (i.path.length ? `${formatKeyPath(i.path)}: ${i.message}` : i.message));
      const more = e.issues.length - shown.length;
      return `${where}: ${shown.join("; ")}${more > 0 ? ` (and ${more} more)` : ""}`;
    }
  }
}

/**
 * At a stage boundary: the value, or an Error naming the upstream stage, the file, the line and
 * the field, which the engine shows as the stage's failure.
 */
export function expectArtifact<T>(r: ArtifactResult<T>, upstream: string): T {
  return r.ok ? r.value : failArtifact(r.error, upstream);
}

/** As expectArtifact, where the stage accepts an absent file: `ifMissing` stands for it. */
export function artifactOr<T, D>(r: ArtifactResult<T>, upstream: string, ifMissing: D): T | D {
  if (!r.ok && r.error.reason === "missing") return ifMissing;
  return expectArtifact(r, upstream);
}

export function failArtifact(e: ArtifactError, upstream: string): never {
  throw new Error(`the ${upstream} stage's output is not what sabuild reads: ${describeArtifactError(e)}`);
}

/** zod's words, shortened: "expected string, received number"; a missing field says so. */
function issuesOf(error: z.ZodError): { path: (string | number)[]; message: string }[] {
  return error.issues.map((i) => {
    const message = i.message.replace(/^Invalid (input|option): /, "");
    const missing = i.code === "invalid_type" && message.endsWith(", received undefined");
    return { path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)), message: missing ? `missing (${message.replace(/, received undefined$/, "")})` : message };
  });
}

async function readText(dir: string, file: string): Promise<ArtifactResult<string>> {
  try {
    return ok(await readFile(join(dir, file), "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return err(code === "ENOENT" ? { reason: "missing", file } : { reason: "unreadable", file, message: (e as Error).message });
  }
}

function parseValue<S extends z.ZodType>(schema: S, text: string, file: string, line?: number): ArtifactResult<z.output<S>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return err({ reason: "not-json", file, ...(line !== undefined ? { line } : {}), message: (e as Error).message });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return err({ reason: "invalid", file, ...(line !== undefined ? { line } : {}), issues: issuesOf(parsed.error) });
  return ok(parsed.data);
}

/** `dir/file` as one JSON document of the schema. */
export async function readJsonArtifact<S extends z.ZodType>(dir: string, file: string, schema: S): Promise<ArtifactResult<z.output<S>>> {
  const text = await readText(dir, file);
  return text.ok ? parseValue(schema, text.value, file) : text;
}

/** `dir/file` as JSONL: one value of the schema per non-blank line; the first bad line is the error. */
export async function readJsonlArtifact<S extends z.ZodType>(dir: string, file: string, schema: S): Promise<ArtifactResult<z.output<S>[]>> {
  const text = await readText(dir, file);
  if (!text.ok) return text;
  const out: z.output<S>[] = [];
  for (const [i, line] of text.value.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const value = parseValue(schema, line, file, i + 1);
    if (!value.ok) return value;
    out.push(value.value);
  }
  return ok(out);
}

/**
 * Compile-time check that a schema mirrors an interface: what it reads is one, and it names
 * every one of its keys (a key left out would be dropped or go unchecked).
 */
export type Mirrors<S extends z.ZodObject, T> = [z.output<S>] extends [T] ? ([Exclude<keyof T, keyof S["shape"]>] extends [never] ? true : false) : false;
export type Assert<T extends true> = T;
