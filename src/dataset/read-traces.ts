import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";

/**
 * The part of a Trace (src/traces/types.ts) the dataset reads, checked: the traces stage and
 * plugins that replace it write these files, and one bad file should count as dropped, not
 * stop the build. Unknown keys are kept out of the way, not rejected.
 */
const toolCall = z.object({
  id: z.string(),
  type: z.literal("function").default("function"),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const message = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().nullable().default(null),
  reasoning: z.string().optional(),
  tool_calls: z.array(toolCall).optional(),
  tool_call_id: z.string().optional(),
});

const traceSchema = z.object({
  subagent: z.string(),
  task: z.object({ id: z.string() }),
  sample: z.number().int(),
  model: z.object({ name: z.string(), base_url: z.string().optional() }),
  status: z.enum(["completed", "turn_cap", "contract_violation", "error"]),
  contract: z.object({ ok: z.boolean() }),
  messages: z.array(message),
  tools: z.array(z.object({ type: z.literal("function"), function: z.object({ name: z.string(), description: z.string().default(""), parameters: z.record(z.string(), z.unknown()) }) })),
  turns: z.number().int().min(0),
  tool_calls: z.number().int().min(0),
  tool_errors: z.number().int().min(0),
  sandbox: z.object({ recipe: z.string(), id: z.string(), tag: z.string() }).partial().optional(),
  /** Written by the judge, when one ran over the traces. */
  judge: z.object({ score: z.number() }).optional(),
});

export type DatasetTrace = z.output<typeof traceSchema>;
export type TraceMessage = z.output<typeof message>;

export type ReadTrace = { item: string; trace: DatasetTrace } | { item: string; problem: string };

const indexSchema = z.object({ items: z.array(z.object({ id: z.string() })) });

/** Reads every item of the traces stage's output, in index order. */
export async function readTraces(tracesDir: string): Promise<ReadTrace[]> {
  const indexFile = join(tracesDir, "index.json");
  const index = indexSchema.safeParse(JSON.parse(await readFile(indexFile, "utf8")));
  if (!index.success) throw new Error(`${indexFile} is not a map stage index: ${z.prettifyError(index.error)}`);
  const out: ReadTrace[] = [];
  for (const { id } of index.data.items) out.push(await readTrace(join(tracesDir, "items", id, "trace.json"), id));
  return out;
}

async function readTrace(file: string, item: string): Promise<ReadTrace> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    return { item, problem: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no trace.json" : `not JSON: ${(e as Error).message}` };
  }
  const parsed = traceSchema.safeParse(value);
  if (!parsed.success) return { item, problem: `not a trace: ${briefIssues(parsed.error)}` };
  return { item, trace: parsed.data };
}

/** The first few problems of a value that is not a trace, one line: a log line per trace must stay short. */
function briefIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
  const more = error.issues.length - shown.length;
  return shown.join("; ") + (more > 0 ? ` (and ${more} more)` : "");
}
