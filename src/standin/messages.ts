import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { estimateTextTokens } from "../llm/tokens.js";
import type { StandinReply } from "./reply.js";
import { readBody } from "./server.js";

/**
 * A stand-in speaking Anthropic's Messages API (POST /v1/messages, plain and streamed), the
 * protocol Claude Code talks: a test double for when Claude Code plays the main agent offline.
 * Replies are decided by a policy, as the OpenAI-compatible stand-in's are (server.ts); every
 * response carries `x-sabuild-standin: 1` and the model name it is given back, so nothing
 * mistakes it for Claude.
 */

/** A content block of a Messages request, as far as a policy needs to read it. */
export type MessagesBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content?: string | { type: string; text?: string }[]; is_error?: boolean }
  | { type: string; [k: string]: unknown };

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: string | { type: string; text: string }[];
  messages: { role: "user" | "assistant"; content: string | MessagesBlock[] }[];
  tools?: { name: string; description?: string; input_schema?: unknown }[];
  stream?: boolean;
  [k: string]: unknown;
}

export type MessagesPolicy = (request: MessagesRequest) => StandinReply | Promise<StandinReply>;

export interface MessagesStandin {
  /** The base URL, with no /v1: what ANTHROPIC_BASE_URL takes. */
  url: string;
  /** Bodies of the /v1/messages requests, in arrival order. */
  bodies: MessagesRequest[];
  close(): Promise<void>;
}

/** The text of a request content (a string, or its text and tool_result blocks). */
export function blockText(content: string | MessagesBlock[] | { type: string; text?: string }[] | undefined): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .map((b) => {
      if (b.type === "text") return String((b as { text?: string }).text ?? "");
      if (b.type === "tool_result") return blockText((b as { content?: string | { type: string; text?: string }[] }).content);
      return "";
    })
    .join("");
}

export async function startMessagesStandin(options: { policy: MessagesPolicy; port?: number; host?: string; latencyMs?: number }): Promise<MessagesStandin> {
  const bodies: MessagesRequest[] = [];
  let counter = 0;
  const server = createServer((req, res) => {
    res.setHeader("x-sabuild-standin", "1");
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "");
    if (req.method === "POST" && path === "/v1/messages") {
      void messages(req, res).catch((e: Error) => {
        if (!res.headersSent) sendError(res, 500, "api_error", e.message);
        else res.end();
      });
      return;
    }
    if (req.method === "POST" && path === "/v1/messages/count_tokens") {
      readBody(req).then(
        (text) => send(res, 200, { input_tokens: estimateTextTokens(text) }),
        () => res.destroy(),
      );
      return;
    }
    if (req.method === "HEAD" || (req.method === "GET" && path === "")) return send(res, 200, {});
    sendError(res, 404, "not_found_error", `Unknown request URL: ${req.method} ${path}`);
  });

  const messages = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: MessagesRequest;
    try {
      body = JSON.parse(await readBody(req)) as MessagesRequest;
    } catch {
      return sendError(res, 400, "invalid_request_error", "The request body is not valid JSON.");
    }
    if (typeof body.model !== "string" || !Array.isArray(body.messages) || body.messages.length === 0) {
      return sendError(res, 400, "invalid_request_error", "model and a non-empty messages array are required");
    }
    bodies.push(body);
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const reply = await options.policy(body);
    const id = `msg_standin${++counter}`;
    const content = replyBlocks(reply, id);
    const inputTokens = estimateTextTokens(JSON.stringify([body.system ?? "", body.messages, body.tools ?? []]));
    const outputTokens = Math.max(1, estimateTextTokens(JSON.stringify(content)));
    const stop = content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
    const usage = { input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens };
    if (body.stream !== true) {
      return send(res, 200, { id, type: "message", role: "assistant", model: body.model, content, stop_reason: stop, stop_sequence: null, usage });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "request-id": `req_${id}` });
    const event = (type: string, data: Record<string, unknown>): void => void res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    event("message_start", { message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
    event("ping", {});
    content.forEach((block, index) => {
      if (block.type === "text") {
        event("content_block_start", { index, content_block: { type: "text", text: "" } });
        for (const piece of pieces(block.text)) event("content_block_delta", { index, delta: { type: "text_delta", text: piece } });
      } else {
        event("content_block_start", { index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } });
        for (const piece of pieces(JSON.stringify(block.input))) event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } });
      }
      event("content_block_stop", { index });
    });
    event("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: outputTokens } });
    event("message_stop", {});
    res.end();
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type ReplyBlock = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: unknown };

function replyBlocks(reply: StandinReply, id: string): ReplyBlock[] {
  const out: ReplyBlock[] = [];
  if (reply.content) out.push({ type: "text", text: reply.content });
  (reply.tool_calls ?? []).forEach((c, i) => {
    const input = typeof c.arguments === "string" ? (JSON.parse(c.arguments || "{}") as unknown) : c.arguments;
    out.push({ type: "tool_use", id: c.id ?? `toolu_${id}_${i}`, name: c.name, input });
  });
  if (!out.length) out.push({ type: "text", text: "" });
  return out;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { type: "error", error: { type, message } });
}

function pieces(text: string, size = 16): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [""];
}

