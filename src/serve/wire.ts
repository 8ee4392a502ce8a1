import type { IncomingMessage, ServerResponse } from "node:http";

// The gateway's wire: requests to model servers and OpenAI-shaped replies to clients. Shared by
// the gateway's HTTP plumbing and the routing of a subagent's request (route-request.ts).

export type Json = Record<string, unknown>;

/** Student failures the teacher can take over. */
export type FallbackReason = "error" | "timeout" | "contract";

export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly reason: FallbackReason,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
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

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function openAiError(res: ServerResponse, status: number, message: string, type = "invalid_request_error"): void {
  sendJson(res, status, { error: { message, type, param: null, code: null } });
}

export function authHeaders(t: { apiKey?: string; headers?: Record<string, string> }): Record<string, string> {
  return { ...(t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {}), ...(t.headers ?? {}) };
}

export async function postJson(url: string, body: Json, headers: Record<string, string>, timeoutMs: number): Promise<Json> {
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

export function firstMessage(body: Json): { content?: string | null; tool_calls?: unknown[] } | undefined {
  const choices = body.choices as { message?: { content?: string | null; tool_calls?: unknown[] } }[] | undefined;
  return choices?.[0]?.message;
}

export function usageOf(body: Json): { prompt: number; completion: number } {
  const u = body.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined;
  return { prompt: u?.prompt_tokens ?? 0, completion: u?.completion_tokens ?? 0 };
}

