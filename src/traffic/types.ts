import type { Trace } from "../traces/types.js";

/**
 * One delegation `sabuild serve` answered, as one line of the traffic log
 * (store/traffic/<subagent>/*.jsonl). Redacted before it is written; never a key or a header.
 */
export interface TrafficRecord {
  v: 1;
  /** Random, so `traffic export` and tasks can name a record. */
  id: string;
  /** ISO time the answer was sent. */
  at: string;
  subagent: string;
  mode: "gateway" | "mcp";
  /** The task as delegated: the first user message (gateway) or the tool's prompt (MCP). */
  prompt: string;
  /** none: neither model gave an answer (the student failed and the teacher did too, or no fallback). */
  answered_by: "student" | "teacher" | "none";
  /**
   * Why that model answered: "student" when the student's answer stood, else why it was escalated
   * (the gateway's fallback reason, or the student's trace status in MCP mode); a router that
   * gives its own reason replaces these.
   */
  route_reason: string;
  /** What went wrong with the student, when it was escalated. */
  detail?: string;
  /** The text returned to the orchestrator (a gateway turn with only tool calls: empty). */
  answer: string;
  /** Tokens the model that answered reported (MCP: summed over the agent loop). */
  tokens: { prompt: number; completion: number };
  latency_ms: number;
  /** Gateway: the conversation as sent and the reply's message, for escalations as teacher rows. */
  request?: { messages: unknown[]; tools?: unknown[] };
  reply?: unknown;
  /** MCP: the whole agent loop of the model that answered. */
  trace?: Trace;
}

/** What the gateway hands the recorder once it has answered a `subagent/<name>` request. */
export interface GatewayDelegation {
  route: string;
  /** The request body as sent upstream (headers are not part of it). */
  request: Record<string, unknown>;
  /** The chat completion returned to the client; absent when none was (an error was). */
  reply?: Record<string, unknown>;
  answeredBy: string;
  /** The gateway's fallback reason, when the teacher answered. */
  fallback?: string;
  ms: number;
}

/** What an MCP tool call hands the recorder. */
export interface McpDelegation {
  subagent: string;
  prompt: string;
  answer: string;
  answeredBy: string;
  reason: string;
  detail?: string;
  trace?: Trace;
  ms: number;
}
