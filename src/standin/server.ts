import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatRequest } from "../llm/types.js";
import { completionBody, completionChunks, FINGERPRINT, normalise, type StandinPolicy, type WireOptions } from "./reply.js";

export type { StandinPolicy, StandinReply } from "./reply.js";

/**
 * The next `count` chat requests fail: with an HTTP status (OpenAI-shaped error body, optional
 * Retry-After / retry-after-ms), or by dropping the connection (`drop`).
 */
export interface Fault {
  count: number;
  status?: number;
  /** Retry-After header value: seconds, or an HTTP date. */
  retryAfter?: number | string;
  retryAfterMs?: number;
  message?: string;
  drop?: boolean;
}

export interface StandinOptions {
  policy: StandinPolicy;
  port?: number;
  host?: string;
  /** Delay before each chat reply (ms), or a function of the request. */
  latencyMs?: number | ((request: ChatRequest) => number);
  faults?: Fault[];
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  /** Listed by GET /v1/models (default ["standin"]); any model name is accepted. */
  models?: string[];
  reasoningField?: WireOptions["reasoningField"];
  omitUsage?: boolean;
}

/** What the server saw: tests assert on it. */
export interface StandinStats {
  /** Chat requests received (faulted ones included). */
  requests: number;
  /** Chat requests answered with a completion. */
  completed: number;
  inFlight: number;
  maxInFlight: number;
  /** Response counts by HTTP status. */
  statuses: Record<number, number>;
  /** Arrival time of each chat request (performance.now(), ms). */
  arrivals: number[];
  /** Bodies of the chat requests, in arrival order. */
  bodies: ChatRequest[];
  /** The Authorization header of each chat request (null when absent). */
  authorizations: (string | null)[];
  /** All headers of each chat request. */
  headers: IncomingHttpHeaders[];
}

export interface Standin {
  /** Base URL clients use, ending in /v1. */
  url: string;
  stats: StandinStats;
  /** Queues a fault for the following requests. */
  inject(fault: Fault): void;
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible chat completions server for tests and offline examples: real HTTP,
 * the real wire format (JSON and server-sent events), replies decided by a policy function.
 * Every response carries `x-sabuild-standin: 1` so nothing mistakes it for a real model.
 */
export async function startStandin(options: StandinOptions): Promise<Standin> {
  const faults: Fault[] = (options.faults ?? []).map((f) => ({ ...f }));
  const stats: StandinStats = { requests: 0, completed: 0, inFlight: 0, maxInFlight: 0, statuses: {}, arrivals: [], bodies: [], authorizations: [], headers: [] };
  const wire: WireOptions = { reasoningField: options.reasoningField ?? "reasoning_content", omitUsage: options.omitUsage ?? false };
  const models = options.models ?? ["standin"];
  let counter = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  const chat = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    stats.arrivals.push(performance.now());
    stats.authorizations.push(req.headers.authorization ?? null);
    stats.headers.push(req.headers);
    let body: ChatRequest;
    try {
      body = JSON.parse(await readBody(req)) as ChatRequest;
    } catch {
      return send(res, 400, openAiError("We could not parse the JSON body of your request.", "invalid_request_error"));
    }
    stats.bodies.push(body);
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return send(res, 401, openAiError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"));
    }
    const fault = faults.find((f) => f.count > 0);
    if (fault) {
      fault.count--;
      if (fault.drop) return void req.socket.destroy();
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
      if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
      const status = fault.status ?? 500;
      const type = status === 429 ? "rate_limit_exceeded" : status >= 500 ? "server_error" : "invalid_request_error";
      return send(res, status, openAiError(fault.message ?? `injected fault (HTTP ${status})`, type), headers);
    }
    const problem = validate(body);
    if (problem) return send(res, 400, openAiError(problem, "invalid_request_error"));
    const latency = typeof options.latencyMs === "function" ? options.latencyMs(body) : (options.latencyMs ?? 0);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    let reply;
    try {
      reply = normalise(body, await options.policy(body), `standin${++counter}`);
    } catch (e) {
      return send(res, 500, openAiError(`stand-in policy failed: ${(e as Error).message}`, "server_error"));
    }
    const id = `standin${counter}`;
    stats.completed++;
    if (body.stream !== true) return send(res, 200, completionBody(id, body.model, reply, wire));
    stats.statuses[200] = (stats.statuses[200] ?? 0) + 1;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    for (const chunk of completionChunks(id, body.model, reply, wire, includeUsage)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.end("data: [DONE]\n\n");
  };

  const server = createServer((req, res) => {
    res.setHeader("x-sabuild-standin", "1");
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "");
    if (req.method === "POST" && path === "/v1/chat/completions") {
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      res.once("close", () => stats.inFlight--);
      chat(req, res).catch((e: Error) => {
        if (!res.headersSent) send(res, 500, openAiError(e.message, "server_error"));
      });
      return;
    }
    if (req.method === "GET" && path === "/v1/models") {
      const created = Math.floor(Date.now() / 1000);
      return send(res, 200, { object: "list", data: models.map((id) => ({ id, object: "model", created, owned_by: FINGERPRINT })) });
    }
    send(res, 404, openAiError(`Unknown request URL: ${req.method} ${path}.`, "invalid_request_error", "unknown_url"));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/v1`,
    stats,
    inject: (fault) => faults.push({ ...fault }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function openAiError(message: string, type: string, code: string | null = null): unknown {
  return { error: { message, type, param: null, code } };
}

function validate(body: ChatRequest): string | undefined {
  if (typeof body !== "object" || body === null) return "The request body must be a JSON object.";
  if (typeof body.model !== "string" || body.model === "") return "you must provide a model parameter";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "'messages' must be a non-empty array";
  for (const [i, m] of body.messages.entries()) {
    if (!["system", "user", "assistant", "tool", "developer"].includes(m?.role)) return `Invalid value for 'messages[${i}].role'`;
  }
  return undefined;
}

/** A request body as text (the stand-ins of both wire protocols read theirs this way). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}
