import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { checkContract } from "../traces/contract.js";
import type { GatewayDelegation } from "../traffic/types.js";
import { GatewayMetrics } from "./metrics.js";

/** A distilled subagent behind the gateway: its model server and its output contract. */
export interface StudentRoute {
  /** The subagent's name: clients ask for model "subagent/<name>". */
  name: string;
  /** OpenAI-compatible base URL of the student's server (e.g. llama-server), ending in /v1. */
  baseUrl: string;
  /** Model name sent upstream. */
  model: string;
  timeoutMs: number;
  /** The output contract's tag; a final reply without it is a contract break. */
  contractTag: string;
  /** This subagent's own teacher for fallback (default: the gateway's teacher). */
  teacher?: TeacherRoute;
}

/** The large model: the fallback for students and the pass-through for other model names. */
export interface TeacherRoute {
  baseUrl: string;
  /** Resolved at start from the environment; never logged. */
  apiKey?: string;
  headers?: Record<string, string>;
  model: string;
  timeoutMs: number;
  pricing?: { input_per_mtok: number; output_per_mtok: number };
}

export type FallbackReason = "error" | "timeout" | "contract";

export interface GatewayOptions {
  students: StudentRoute[];
  teacher?: TeacherRoute;
  /** Which student failures go to the teacher (default all three). */
  fallbackOn?: FallbackReason[];
  host?: string;
  port?: number;
  /** Called for each request, for logs (never with bodies or keys). */
  onRequest?(line: { route: string; answeredBy: string; status: number; ms: number; fallback?: FallbackReason; detail?: string }): void;
  /** Called after each answered `subagent/<name>` request with its bodies (serve.record). */
  onDelegation?(d: GatewayDelegation): void;
}

export interface Gateway {
  url: string;
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

class UpstreamError extends Error {
  constructor(
    message: string,
    readonly reason: FallbackReason,
    readonly status?: number,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("request body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function openAiError(res: ServerResponse, status: number, message: string, type = "invalid_request_error"): void {
  sendJson(res, status, { error: { message, type, param: null, code: null } });
}

function authHeaders(t: { apiKey?: string; headers?: Record<string, string> }): Record<string, string> {
  return { ...(t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {}), ...(t.headers ?? {}) };
}

async function postJson(url: string, body: Json, headers: Record<string, string>, timeoutMs: number): Promise<Json> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const name = (e as Error).name;
    if (name === "TimeoutError" || name === "AbortError") throw new UpstreamError(`no answer within ${timeoutMs} ms`, "timeout");
    throw new UpstreamError(`cannot reach ${new URL(url).origin}: ${(e as Error).message}`, "error");
  }
  let text: string;
  try {
    text = await response.text();
  } catch (e) {
    throw new UpstreamError(`${(e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (e as Error).message}`, (e as Error).name === "TimeoutError" ? "timeout" : "error");
  }
  if (!response.ok) throw new UpstreamError(`HTTP ${response.status}: ${text.slice(0, 300)}`, "error", response.status);
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new UpstreamError("the reply is not JSON", "error", response.status);
  }
}

function firstMessage(body: Json): { content?: string | null; tool_calls?: unknown[] } | undefined {
  const choices = body.choices as { message?: { content?: string | null; tool_calls?: unknown[] } }[] | undefined;
  return choices?.[0]?.message;
}

function usageOf(body: Json): { prompt: number; completion: number } {
  const u = body.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined;
  return { prompt: u?.prompt_tokens ?? 0, completion: u?.completion_tokens ?? 0 };
}

/** A complete chat completion re-sent as server-sent events, for clients that asked to stream. */
function sendAsStream(res: ServerResponse, body: Json, headers: Record<string, string>): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...headers });
  const choices = (body.choices as { index?: number; message?: Json; finish_reason?: string | null }[] | undefined) ?? [];
  const base = { id: body.id, object: "chat.completion.chunk", created: body.created, model: body.model };
  for (const c of choices) {
    const m = c.message ?? {};
    const toolCalls = (m.tool_calls as Json[] | undefined)?.map((t, index) => ({ index, ...t }));
    const delta = { role: "assistant", content: m.content ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}) };
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: c.index ?? 0, delta, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: c.index ?? 0, delta: {}, finish_reason: c.finish_reason ?? "stop" }], usage: body.usage })}\n\n`);
  }
  res.write("data: [DONE]\n\n");
  res.end();
}

/**
 * The OpenAI-compatible gateway: `model: "subagent/<name>"` goes to that subagent's student,
 * with the teacher as fallback when the student errors, times out or breaks the output
 * contract; any other model passes through to the teacher's endpoint.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const metrics = new GatewayMetrics();
  const students = new Map(options.students.map((s) => [s.name, s]));
  const fallbackOn = new Set(options.fallbackOn ?? ["error", "timeout", "contract"]);
  const teacher = options.teacher;

  const teacherCost = (route: StudentRoute, u: { prompt: number; completion: number }): number => {
    const pricing = (route.teacher ?? teacher)?.pricing;
    return pricing ? (u.prompt * pricing.input_per_mtok + u.completion * pricing.output_per_mtok) / 1e6 : 0;
  };

  async function handleStudent(route: StudentRoute, body: Json, res: ServerResponse, started: number): Promise<void> {
    const wantsStream = body.stream === true;
    const upstreamBody: Json = { ...body, model: route.model, stream: false };
    delete upstreamBody.stream_options;
    let reason: FallbackReason | undefined;
    let detail = "";
    try {
      const reply = await postJson(`${route.baseUrl}/chat/completions`, upstreamBody, {}, route.timeoutMs);
      const message = firstMessage(reply);
      if (!message) throw new UpstreamError("the reply has no choices", "error");
      const final = !message.tool_calls || message.tool_calls.length === 0;
      const contract = final ? checkContract(message.content, route.contractTag) : { ok: true as const };
      if (!contract.ok && fallbackOn.has("contract")) {
        reason = "contract";
        detail = contract.reason ?? "contract broken";
      } else {
        const u = usageOf(reply);
        metrics.tokens.inc({ route: route.name, answered_by: "student", kind: "prompt" }, u.prompt);
        metrics.tokens.inc({ route: route.name, answered_by: "student", kind: "completion" }, u.completion);
        metrics.saved.inc({ route: route.name }, teacherCost(route, u));
        const out = { ...reply, model: `subagent/${route.name}`, sabuild: { answered_by: "student", route: route.name } };
        finish(res, out, wantsStream, "student", route.name, started, undefined, upstreamBody);
        return;
      }
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      reason = e.reason;
      detail = e.message;
      if (!fallbackOn.has(e.reason)) {
        metrics.requests.inc({ route: route.name, answered_by: "none" });
        options.onRequest?.({ route: route.name, answeredBy: "none", status: 502, ms: Date.now() - started, detail });
        openAiError(res, 502, `the student for ${route.name} failed (${detail}) and fallback on ${e.reason} is off`, "upstream_error");
        return;
      }
    }
    metrics.fallbacks.inc({ route: route.name, reason: reason! });
    const teacher = route.teacher ?? options.teacher;
    if (!teacher) {
      metrics.requests.inc({ route: route.name, answered_by: "none" });
      openAiError(res, 502, `the student for ${route.name} failed (${detail}) and no teacher is configured for fallback`, "upstream_error");
      return;
    }
    try {
      const reply = await postJson(`${teacher.baseUrl}/chat/completions`, { ...upstreamBody, model: teacher.model }, authHeaders(teacher), teacher.timeoutMs);
      const u = usageOf(reply);
      metrics.tokens.inc({ route: route.name, answered_by: "teacher", kind: "prompt" }, u.prompt);
      metrics.tokens.inc({ route: route.name, answered_by: "teacher", kind: "completion" }, u.completion);
      const out = { ...reply, model: `subagent/${route.name}`, sabuild: { answered_by: "teacher", route: route.name, fallback_reason: reason, fallback_detail: detail } };
      finish(res, out, wantsStream, "teacher", route.name, started, reason, upstreamBody);
    } catch (e) {
      metrics.requests.inc({ route: route.name, answered_by: "none" });
      openAiError(res, 502, `the student for ${route.name} failed (${detail}) and so did the teacher: ${(e as Error).message}`, "upstream_error");
    }
  }

  function finish(res: ServerResponse, out: Json, stream: boolean, answeredBy: string, route: string, started: number, fallback?: FallbackReason, request?: Json): void {
    const headers = { "x-sabuild-answered-by": answeredBy, ...(fallback ? { "x-sabuild-fallback": fallback } : {}) };
    if (stream) sendAsStream(res, out, headers);
    else sendJson(res, 200, out, headers);
    const ms = Date.now() - started;
    metrics.requests.inc({ route, answered_by: answeredBy });
    metrics.latency.observe({ route }, ms / 1000);
    options.onRequest?.({ route, answeredBy, status: 200, ms, ...(fallback ? { fallback } : {}) });
    if (request) options.onDelegation?.({ route, request, reply: out, answeredBy, ms, ...(fallback ? { fallback } : {}) });
  }

  async function passThrough(body: Buffer, res: ServerResponse, started: number): Promise<void> {
    if (!teacher) return openAiError(res, 404, "unknown model: ask for subagent/<name>, or configure a teacher to pass other models through");
    let upstream: Response;
    try {
      upstream = await fetch(`${teacher.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...authHeaders(teacher) },
        body,
        signal: AbortSignal.timeout(teacher.timeoutMs),
      });
    } catch (e) {
      metrics.requests.inc({ route: "passthrough", answered_by: "none" });
      return openAiError(res, 502, `cannot reach the teacher endpoint: ${(e as Error).message}`, "upstream_error");
    }
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json", "x-sabuild-answered-by": "teacher" });
    if (upstream.body) {
      for await (const chunk of upstream.body) res.write(chunk);
    }
    res.end();
    metrics.requests.inc({ route: "passthrough", answered_by: "teacher" });
    metrics.latency.observe({ route: "passthrough" }, (Date.now() - started) / 1000);
    options.onRequest?.({ route: "passthrough", answeredBy: "teacher", status: upstream.status, ms: Date.now() - started });
  }

  const server = createServer((req, res) => {
    const started = Date.now();
    const url = (req.url ?? "/").split("?")[0]!;
    void (async () => {
      if (req.method === "GET" && url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(metrics.render());
      } else if (req.method === "GET" && url === "/health") {
        sendJson(res, 200, { status: "ok", students: [...students.keys()] });
      } else if (req.method === "GET" && url === "/v1/models") {
        const data = [...students.keys()].map((n) => ({ id: `subagent/${n}`, object: "model", owned_by: "sabuild" }));
        if (teacher) data.push({ id: teacher.model, object: "model", owned_by: "teacher" });
        sendJson(res, 200, { object: "list", data });
      } else if (req.method === "POST" && url === "/v1/chat/completions") {
        const raw = await readBody(req);
        let body: Json;
        try {
          body = JSON.parse(raw.toString("utf8")) as Json;
        } catch {
          return openAiError(res, 400, "the request body is not JSON");
        }
        const model = typeof body.model === "string" ? body.model : "";
        if (model.startsWith("subagent/")) {
          const route = students.get(model.slice("subagent/".length));
          if (!route) return openAiError(res, 404, `unknown subagent "${model.slice(9)}"; served: ${[...students.keys()].map((n) => `subagent/${n}`).join(", ") || "none"}`);
          await handleStudent(route, body, res, started);
          if (res.statusCode >= 500) options.onDelegation?.({ route: route.name, request: body, answeredBy: "none", ms: Date.now() - started });
        } else {
          await passThrough(raw, res, started);
        }
      } else {
        openAiError(res, 404, `no route for ${req.method} ${url}`);
      }
    })().catch((e: unknown) => {
      if (!res.headersSent) openAiError(res, 500, (e as Error).message, "server_error");
      else res.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${addr.port}`,
    metrics,
    // Graceful: no new connections, requests in flight finish (cut off after 10 s).
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 10_000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
