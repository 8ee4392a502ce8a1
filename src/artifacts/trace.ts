import * as z from "zod";
import { verificationSchema } from "../envs/types.js";
import type { Trace } from "../traces/types.js";
import { readJsonArtifact, type ArtifactResult, type Assert, type Mirrors } from "./read.js";
import { functionToolSchema } from "./tools.js";

const toolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("function").default("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/** A chat message in OpenAI form; endpoints leave `content` out of a turn that only calls tools. */
const messageSchema = z.looseObject({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().nullable().default(null),
  reasoning: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_call_id: z.string().optional(),
  name: z.string().optional(),
});

const statusSchema = z.enum(["completed", "turn_cap", "contract_violation", "error"]);

/**
 * `trace.json`: one rollout, as the traces stage writes items/<id>/trace.json and eval writes
 * traces/<role>/<task>.json; the judge, eval and the report read all of it.
 */
export const traceSchema = z.looseObject({
  version: z.literal(1).default(1),
  subagent: z.string(),
  task: z.looseObject({ id: z.string(), prompt: z.string(), tags: z.array(z.string()).default([]) }),
  sample: z.number().int().min(0),
  model: z.looseObject({ name: z.string(), base_url: z.string(), role: z.enum(["teacher", "student", "base", "orchestrator"]) }),
  status: statusSchema,
  error: z.string().optional(),
  final_answer: z.string().optional(),
  contract: z.looseObject({ tag: z.string(), ok: z.boolean() }),
  messages: z.array(messageSchema),
  tools: z.array(functionToolSchema),
  turns: z.number().int().min(0),
  tool_calls: z.number().int().min(0),
  tool_errors: z.number().int().min(0),
  usage: z.looseObject({
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    requests: z.number(),
    cached_requests: z.number(),
    cost_usd: z.number(),
  }),
  timings: z.looseObject({
    started_at: z.string(),
    duration_ms: z.number(),
    model_ms: z.number(),
    tool_ms: z.number(),
    sandbox_ms: z.number().optional(),
    sandbox_wait_ms: z.number().optional(),
  }),
  sandbox: z.looseObject({ recipe: z.string(), id: z.string(), tag: z.string(), env: z.string().optional() }),
  verification: verificationSchema.optional(),
  recorded: z
    .array(z.looseObject({ tool_call_id: z.string(), kind: z.enum(["search", "fetch", "mcp"]), key: z.string(), digest: z.string(), from: z.enum(["live", "stored"]) }))
    .optional(),
  mcp: z
    .array(z.looseObject({ server: z.string(), runs: z.enum(["sandbox", "host", "http"]), tools_digest: z.string(), from: z.enum(["import", "live", "stored"]) }))
    .optional(),
});
export type TraceMirrors = Assert<Mirrors<typeof traceSchema, Trace>>;

/**
 * What a training row needs of a trace, and no more: plugins that replace the traces stage
 * may leave out what only the report and the judge read (usage, timings, the task's prompt).
 */
export const rowTraceSchema = traceSchema.pick({ subagent: true, sample: true, status: true, messages: true, tools: true, turns: true, tool_calls: true, tool_errors: true }).extend({
  task: z.looseObject({ id: z.string() }),
  model: z.looseObject({ name: z.string(), base_url: z.string().optional() }),
  contract: z.looseObject({ ok: z.boolean() }),
  sandbox: z.looseObject({ recipe: z.string(), id: z.string(), tag: z.string() }).partial().optional(),
  /** Written by the judge, when one ran over the traces. */
  judge: z.looseObject({ score: z.number() }).optional(),
});
export type RowTrace = z.output<typeof rowTraceSchema>;
export type TraceMessage = z.output<typeof messageSchema>;

/** A whole trace at `file`, relative to the stage output `dir` (e.g. "items/t1.s0/trace.json"). */
export function readTrace(dir: string, file: string): Promise<ArtifactResult<Trace>> {
  return readJsonArtifact(dir, file, traceSchema);
}

/** The part of a trace a training row is made of. */
export function readRowTrace(dir: string, file: string): Promise<ArtifactResult<RowTrace>> {
  return readJsonArtifact(dir, file, rowTraceSchema);
}
