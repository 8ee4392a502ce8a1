import { randomUUID } from "node:crypto";
import type { ProjectConfig } from "../config/index.js";
import { TrafficLog, trafficDir } from "./log.js";
import { makeRedactor } from "./redact.js";
import type { GatewayDelegation, McpDelegation, TrafficRecord } from "./types.js";

type Json = Record<string, unknown>;

/** Text of a chat message's content: a string, or the text parts of a list. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === "object" && typeof (p as Json).text === "string" ? (p as Json).text : "")).join("");
  return "";
}

/** The delegated task of a gateway request: its first user message (later turns repeat it). */
function firstUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  const first = messages.find((m) => m && typeof m === "object" && (m as Json).role === "user") as Json | undefined;
  return contentText(first?.content);
}

function answerer(who: string): TrafficRecord["answered_by"] {
  return who === "teacher" || who === "student" ? who : "none";
}

export interface Recorder {
  gateway(d: GatewayDelegation): void;
  mcp(d: McpDelegation): void;
  /** Resolves once every record so far is written. */
  flush(): Promise<void>;
}

/**
 * Records delegations to the traffic log of each subagent (serve.record). Everything is redacted
 * before serialising; what is written is built field by field from the bodies, so request headers
 * (and with them the client's key) cannot reach it. A failed write is logged, never the request's
 * failure: serving matters more than recording.
 */
export function openRecorder(project: Pick<ProjectConfig, "store" | "serve">, log: (line: string) => void): Recorder {
  const redact = makeRedactor(project.serve.redact);
  const logs = new Map<string, TrafficLog>();
  const pending = new Set<Promise<void>>();
  const write = (record: TrafficRecord): void => {
    let l = logs.get(record.subagent);
    if (!l) logs.set(record.subagent, (l = new TrafficLog(trafficDir(project.store, record.subagent), { maxBytes: project.serve.max_bytes, keep: project.serve.keep })));
    const line = `${JSON.stringify(redact(record))}\n`;
    const p = l.append(line).catch((e: unknown) => log(`warning: could not record a delegation to ${record.subagent}: ${(e as Error).message}`));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  return {
    gateway(d) {
      const reply = d.reply ?? {};
      const usage = (reply.usage ?? {}) as { prompt_tokens?: number; completion_tokens?: number };
      const message = ((reply.choices as Json[] | undefined)?.[0]?.message ?? {}) as Json;
      const meta = (reply.sabuild ?? {}) as { fallback_detail?: string; route_reason?: string };
      write({
        v: 1,
        id: randomUUID(),
        at: new Date().toISOString(),
        subagent: d.route,
        mode: "gateway",
        prompt: firstUserText(d.request.messages),
        answered_by: answerer(d.answeredBy),
        route_reason: meta.route_reason ?? d.fallback ?? (d.answeredBy === "none" ? "failed" : "student"),
        ...(meta.fallback_detail ? { detail: meta.fallback_detail } : {}),
        answer: contentText(message.content),
        tokens: { prompt: usage.prompt_tokens ?? 0, completion: usage.completion_tokens ?? 0 },
        latency_ms: d.ms,
        request: { messages: Array.isArray(d.request.messages) ? d.request.messages : [], ...(Array.isArray(d.request.tools) ? { tools: d.request.tools } : {}) },
        ...(d.reply ? { reply: message } : {}),
      });
    },
    mcp(d) {
      write({
        v: 1,
        id: randomUUID(),
        at: new Date().toISOString(),
        subagent: d.subagent,
        mode: "mcp",
        prompt: d.prompt,
        answered_by: answerer(d.answeredBy),
        route_reason: d.reason,
        ...(d.detail ? { detail: d.detail } : {}),
        answer: d.answer,
        tokens: { prompt: d.trace?.usage.prompt_tokens ?? 0, completion: d.trace?.usage.completion_tokens ?? 0 },
        latency_ms: d.ms,
        ...(d.trace ? { trace: d.trace } : {}),
      });
    },
    async flush() {
      await Promise.all([...pending]);
    },
  };
}
