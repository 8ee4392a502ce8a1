import * as z from "zod";
import { err, ok, type Result } from "../result.js";
import type { JudgeResult } from "./types.js";

/** A judgment is stored as judge.json next to the trace.json it grades. */
export const JUDGE_FILE = "judge.json";

const count = z.number().int().min(0);

const judgeResultSchema = z.object({
  version: z.literal(1),
  score: z.number().min(0).max(1).nullable(),
  dimensions: z.record(z.string(), z.object({ score: z.number().min(0).max(1), reason: z.string() })),
  flags: z.record(z.string(), z.object({ present: z.boolean(), reason: z.string() })),
  missing: z.array(z.string()),
  warnings: z.array(z.string()),
  model: z.string(),
  rubric_digest: z.string(),
  usage: z.object({
    prompt_tokens: count,
    completion_tokens: count,
    requests: count,
    cached_requests: count,
    cost_usd: z.number().min(0),
  }),
  error: z.string().optional(),
  reply: z.string().optional(),
});

export function formatJudgeResult(result: JudgeResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** Reads a judge.json back; a file of another shape is an error naming the first bad field. */
export function parseJudgeResult(text: string): Result<JudgeResult, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return err(`not JSON: ${(e as Error).message}`);
  }
  const parsed = judgeResultSchema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0]!;
  return err(`not a judge result: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
}
