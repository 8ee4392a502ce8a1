import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fallbackPolicy, type RouteReason } from "../route/policy.js";
import type { GatewayDelegation } from "../traffic/types.js";
import { DriftMonitor } from "./drift.js";
import { GatewayMetrics } from "./metrics.js";
import { routeRequest, upstreamBodyOf, type Routed } from "./route-request.js";
import type { StudentRoute, TeacherRoute } from "./routes.js";
import { authHeaders, openAiError, readBody, sendJson, usageOf, type FallbackReason, type Json } from "./wire.js";

export type { StudentRoute, TeacherRoute } from "./routes.js";
export type { FallbackReason } from "./wire.js";

export interface GatewayOptions {
  students: StudentRoute[];
  teacher?: TeacherRoute;
  /** Which student failures go to the teacher (default all three), for routes without a policy of their own. */
  fallbackOn?: FallbackReason[];
  host?: string;
  port?: number;
  /** Warnings while serving (escalation drift). */
  warn?(line: string): void;
  /** Called for each request, for logs (never with bodies or keys). */
  onRequest?(line: { route: string; answeredBy: string; status: number; ms: number; reason?: RouteReason; fallback?: string; detail?: string }): void;
  /** Called after each answered `subagent/<name>` request with its bodies (serve.record). */
  onDelegation?(d: GatewayDelegation): void;
}

export interface Gateway {
  url: string;
  metrics: GatewayMetrics;
  close(): Promise<void>;
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

/** The body's `sabuild` field: who answered and why (fallback_* kept for clients of the first gateway). */
function sabuildField(route: string, r: Routed): Json {
  const escalated = r.answeredBy === "teacher" && r.studentTried;
  return {
    answered_by: r.answeredBy,
    route,
    route_reason: r.reason,
    ...(r.detail ? { route_detail: r.detail } : {}),
    ...(escalated ? { fallback_reason: r.reason, ...(r.detail ? { fallback_detail: r.detail } : {}) } : {}),
    ...(r.routerScore !== undefined ? { router_score: r.routerScore } : {}),
    ...(r.confidence !== undefined ? { confidence: r.confidence } : {}),
  };
}

/**
 * The OpenAI-compatible gateway: `model: "subagent/<name>"` goes to that subagent's student or
 * its teacher as the route's policy decides (route-request.ts; by default the teacher as
 * fallback when the student errors, times out or breaks the output contract); any other model
 * passes through to the teacher's endpoint.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const metrics = new GatewayMetrics();
  const students = new Map(options.students.map((s) => [s.name, s]));
  const defaultPolicy = fallbackPolicy(options.fallbackOn ?? ["error", "timeout", "contract"]);
  const teacher = options.teacher;

  const teacherCost = (route: StudentRoute, u: { prompt: number; completion: number }): number => {
    const pricing = (route.teacher ?? teacher)?.pricing;
    return pricing ? (u.prompt * pricing.input_per_mtok + u.completion * pricing.output_per_mtok) / 1e6 : 0;
  };

  /** Student-side reasons the teacher answered for; sent as x-sabuild-fallback as before routing policies. */
  const FALLBACKS: ReadonlySet<RouteReason> = new Set(["error", "timeout", "contract", "hard-checks", "confidence", "judge"]);

  const drift = new Map<string, DriftMonitor>();
  for (const s of options.students) {
    if (!s.drift) continue;
    drift.set(s.name, new DriftMonitor(s.name, s.drift.expected, s.drift.window, s.drift.margin, options.warn ?? (() => undefined)));
    metrics.expectedEscalation.set({ route: s.name }, s.drift.expected);
    metrics.drift.set({ route: s.name }, 0);
  }

  /** Per-subagent monitoring of one answered request (see metrics.ts for what each series means). */
  function observe(route: StudentRoute, r: Routed, started: number): void {
    metrics.routed.inc({ route: route.name, answered_by: r.answeredBy, reason: r.reason });
    metrics.answerLatency.observe({ route: route.name, answered_by: r.answeredBy }, (Date.now() - started) / 1000);
    for (const f of r.failures ?? []) {
      metrics.checkFailures.inc({ route: route.name, check: f });
      if (f === "contract") metrics.contractBreaks.inc({ route: route.name });
    }
    if (r.routerScore !== undefined) metrics.routerScore.observe({ route: route.name }, r.routerScore);
    const monitor = drift.get(route.name);
    if (monitor) metrics.drift.set({ route: route.name }, monitor.record(r.answeredBy === "teacher") ? 1 : 0);
  }

  async function handleStudent(route: StudentRoute, body: Json, res: ServerResponse, started: number): Promise<void> {
    const routed = await routeRequest(route, body, teacher, defaultPolicy);
    if (!routed.ok) {
      metrics.requests.inc({ route: route.name, answered_by: "none" });
      options.onRequest?.({ route: route.name, answeredBy: "none", status: routed.error.status, ms: Date.now() - started, ...(routed.error.reason ? { reason: routed.error.reason } : {}), detail: routed.error.message });
      const error = { error: { message: routed.error.message, type: "upstream_error", param: null, code: null } };
      sendJson(res, routed.error.status, error, routed.error.reason ? { "x-sabuild-route-reason": routed.error.reason } : {});
      return;
    }
    const r = routed.value;
    const u = usageOf(r.reply);
    metrics.tokens.inc({ route: route.name, answered_by: r.answeredBy, kind: "prompt" }, u.prompt);
    metrics.tokens.inc({ route: route.name, answered_by: r.answeredBy, kind: "completion" }, u.completion);
    if (r.answeredBy === "student") metrics.saved.inc({ route: route.name }, teacherCost(route, u));
    const fallback = r.answeredBy === "teacher" && FALLBACKS.has(r.reason) ? r.reason : undefined;
    if (fallback) metrics.fallbacks.inc({ route: route.name, reason: fallback });
    observe(route, r, started);
    const out = { ...r.reply, model: `subagent/${route.name}`, sabuild: sabuildField(route.name, r) };
    finish(res, out, body.stream === true, r.answeredBy, route.name, started, r.reason, fallback, upstreamBodyOf(route, body));
  }

  function finish(res: ServerResponse, out: Json, stream: boolean, answeredBy: string, route: string, started: number, reason: RouteReason, fallback?: string, request?: Json): void {
    const headers = { "x-sabuild-answered-by": answeredBy, "x-sabuild-route-reason": reason, ...(fallback ? { "x-sabuild-fallback": fallback } : {}) };
    if (stream) sendAsStream(res, out, headers);
    else sendJson(res, 200, out, headers);
    const ms = Date.now() - started;
    metrics.requests.inc({ route, answered_by: answeredBy });
    metrics.latency.observe({ route }, ms / 1000);
    options.onRequest?.({ route, answeredBy, status: 200, ms, reason, ...(fallback ? { fallback } : {}) });
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
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json", "x-sabuild-answered-by": "teacher", "x-sabuild-route-reason": "passthrough" });
    if (upstream.body) {
      for await (const chunk of upstream.body) res.write(chunk);
    }
    res.end();
    metrics.requests.inc({ route: "passthrough", answered_by: "teacher" });
    metrics.latency.observe({ route: "passthrough" }, (Date.now() - started) / 1000);
    options.onRequest?.({ route: "passthrough", answeredBy: "teacher", status: upstream.status, ms: Date.now() - started, reason: "passthrough" });
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
