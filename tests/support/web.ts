import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { parseConfig, type ProjectConfig, type ResolvedSubagent } from "../../src/config/index.js";
import { formatProblem } from "../../src/errors.js";
import type { SandboxSession } from "../../src/sandbox/types.js";
import { runToolCall, TOOLS, type ToolResult, type WebProvider } from "../../src/tools/index.js";
import { openWeb } from "../../src/web/provider.js";

/** A subagent with this `web` section in a project at dir, as the loader resolves it. */
export function webProject(dir: string, web: unknown): { project: ProjectConfig; subagent: ResolvedSubagent } {
  const text = JSON.stringify({ version: 1, subagents: { researcher: { source: { inline: { description: "Researches", prompt: "You research." } }, web } } });
  const parsed = parseConfig(text, join(dir, "subagents.yaml"));
  if (!parsed.ok) throw new Error(parsed.error.map(formatProblem).join("\n"));
  return { project: parsed.value, subagent: parsed.value.subagents[0]! };
}

/** The web tools never touch the sandbox: any use of it fails the test. */
const NO_SANDBOX = new Proxy({}, { get: (_, key) => { throw new Error(`the web tools used the sandbox (${String(key)})`); } }) as SandboxSession;

/** Runs WebSearch or WebFetch as a model's call would, with this project's provider. */
export function callTool(web: WebProvider | undefined, name: "WebSearch" | "WebFetch", args: Record<string, unknown>): Promise<ToolResult> {
  return runToolCall(TOOLS, name, JSON.stringify(args), { sandbox: NO_SANDBOX, ...(web ? { web } : {}) });
}

export function providerOf(dir: string, web: unknown): WebProvider {
  const { project, subagent } = webProject(dir, web);
  return openWeb(project, subagent, () => undefined)!;
}

export interface SeenRequest {
  method: string;
  url: URL;
  headers: IncomingMessage["headers"];
  body: string;
}

/** An HTTP server on loopback answering with handler; it records every request. */
export async function wireServer(handler: (req: SeenRequest, res: ServerResponse) => void): Promise<{ url: string; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const request = { method: req.method ?? "", url: new URL(req.url ?? "/", "http://x"), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      seen.push(request);
      handler(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
