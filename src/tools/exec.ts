import { posix } from "node:path";
import type { ExecOptions, ExecResult } from "../sandbox/types.js";
import { ToolFailure } from "./define.js";
import type { ToolContext } from "./types.js";

/**
 * How much output the tools' own helper commands may return (listings, file bytes as base64).
 * Well above what reaches the model: the tools cut and format it themselves.
 */
export const HELPER_OUTPUT_LIMIT = 48 * 1024 * 1024;

/** A path as the model wrote it, made absolute: relative paths resolve against the workspace. */
export function resolvePath(ctx: ToolContext, path: string): string {
  return posix.resolve(ctx.sandbox.image.workdir, path);
}

/**
 * Runs a fixed bash script with the untrusted values (paths, patterns, content) as its positional
 * parameters $1, $2, ...: they are never spliced into shell text, so no quoting can go wrong.
 */
export function runScript(ctx: ToolContext, script: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  rejectNul(args);
  return ctx.sandbox.exec(["bash", "-c", script, "sabuild-tool", ...args], {
    outputLimitBytes: HELPER_OUTPUT_LIMIT,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...options,
  });
}

// The sandbox cuts output in the middle: head, this marker, tail (src/sandbox/output.ts).
const CUT_MARKER = /\[\.\.\. \d+ bytes truncated \.\.\.\]/;

/**
 * Splits NUL-separated output into records. When the sandbox cut the output, the record around
 * its marker is two halves of different records and is dropped.
 */
export function nulRecords(result: ExecResult): string[] {
  const records = result.stdout.split("\0");
  // After the last complete record comes "" (or a partial record).
  records.pop();
  return result.truncated ? records.filter((r) => !CUT_MARKER.test(r)) : records;
}

/** A NUL cannot travel in an argument (C strings end there); JSON arguments can still hold one. */
export function rejectNul(args: readonly string[]): void {
  if (args.some((a) => a.includes("\0"))) throw new ToolFailure("An argument holds a NUL character (\\u0000), which paths, patterns and commands cannot contain.");
}
