import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import * as z from "zod";
import { trafficFiles } from "./log.js";
import type { TrafficRecord } from "./types.js";

/** What a reader needs of a line; the trace is checked where it is used (dataset rows). */
const recordSchema = z.looseObject({
  v: z.literal(1),
  id: z.string(),
  at: z.string(),
  subagent: z.string(),
  mode: z.enum(["gateway", "mcp"]),
  prompt: z.string(),
  answered_by: z.enum(["student", "teacher", "none"]),
  route_reason: z.string(),
  detail: z.string().optional(),
  answer: z.string(),
  tokens: z.object({ prompt: z.number(), completion: z.number() }),
  latency_ms: z.number(),
  request: z.object({ messages: z.array(z.unknown()), tools: z.array(z.unknown()).optional() }).optional(),
  reply: z.unknown().optional(),
  trace: z.unknown().optional(),
});

/** A record and where it was read: `<file>:<line>` of the log. */
export interface ReadRecord {
  record: TrafficRecord;
  origin: string;
}

export interface TrafficRead {
  records: ReadRecord[];
  /** Lines that are not records (a torn last line after a crash, a hand edit), with where. */
  skipped: { origin: string; why: string }[];
}

/** Every record of a subagent's log, oldest first. */
export async function readTraffic(store: string, subagent: string): Promise<TrafficRead> {
  const out: TrafficRead = { records: [], skipped: [] };
  for (const file of trafficFiles(store, subagent)) {
    const text = await readFile(file, "utf8").catch(() => "");
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      const origin = `traffic/${subagent}/${basename(file)}:${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return void out.skipped.push({ origin, why: "not JSON (a line cut short when serve stopped?)" });
      }
      const parsed = recordSchema.safeParse(value);
      if (parsed.success) out.records.push({ record: parsed.data as TrafficRecord, origin });
      else out.skipped.push({ origin, why: z.prettifyError(parsed.error).split("\n")[0] ?? "not a traffic record" });
    });
  }
  return out;
}
