import { chmod, writeFile } from "node:fs/promises";
import { request as httpRequest, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createMcpServer, type McpSubagent } from "../../serve/mcp.js";

/**
 * What a CLI orchestrator's container reaches, and nothing else: it keeps `--network none` and
 * gets two unix sockets bound in. One is an HTTP proxy to the model endpoint, which puts the real
 * API key on each request here on the host (the container only ever holds a placeholder); the
 * other is sabuild's MCP server offering the arm's subagents. Inside, a small Node script
 * (BRIDGE_SCRIPT) listens on the container's own loopback and pipes to the first, and is the MCP
 * server's stdio command for the second.
 */

/** Where the item's folder (sockets, bridge, MCP config) is bound in the container. */
export const ITEM_MOUNT = "/opt/sabuild/item";
/** The loopback port the in-container forwarder listens on (the container's own network namespace). */
export const FORWARD_PORT = 8080;

/** The in-container bridge: `tcp PORT SOCKET READYFILE` forwards loopback to a socket; `stdio SOCKET` joins stdio to one. */
export const BRIDGE_SCRIPT = `import net from "node:net";
import { writeFileSync } from "node:fs";
const [mode, a, b, ready] = process.argv.slice(2);
const join = (x, y) => { x.pipe(y).pipe(x); x.on("error", () => y.destroy()); y.on("error", () => x.destroy()); };
if (mode === "tcp") {
  net.createServer((c) => join(c, net.connect(b))).listen(Number(a), "127.0.0.1", () => writeFileSync(ready, ""));
} else {
  const s = net.connect(a);
  process.stdin.pipe(s).pipe(process.stdout);
  s.on("close", () => process.exit(0));
  s.on("error", (e) => { process.stderr.write("sabuild bridge: " + e.message + "\\n"); process.exit(1); });
}
`;

export interface ItemSocketsOptions {
  /** The host folder bound at ITEM_MOUNT (created by the caller, one per item). */
  dir: string;
  /** The model endpoint the proxy forwards to: its origin and path prefix (e.g. https://api.anthropic.com). */
  upstream: string;
  /** The real API key ("" for none): it replaces whatever credential the container's client sends. */
  apiKey: string;
  /** The subagents sabuild's MCP server offers; none (the `none` arm) serves no MCP socket. */
  subagents: McpSubagent[];
}

export interface ItemSockets {
  /** The base URL the CLI in the container uses (its loopback forwarder, with the upstream's path). */
  baseUrl: string;
  /** Claude Code's --mcp-config file inside the container, when subagents are offered. */
  mcpConfig?: string;
  close(): Promise<void>;
}

export async function serveItemSockets(o: ItemSocketsOptions): Promise<ItemSockets> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  const listen = async (server: Server, name: string): Promise<void> => {
    const path = join(o.dir, name);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    servers.push(server);
    // The container's user is not ours: connecting to a socket needs write permission on it.
    await chmod(path, 0o777);
  };
  await writeFile(join(o.dir, "bridge.mjs"), BRIDGE_SCRIPT);
  const model = createHttpServer((req, res) => proxy(req, res, o.upstream, o.apiKey));
  model.on("connection", track);
  await listen(model, "model.sock");

  let mcpConfig: string | undefined;
  if (o.subagents.length) {
    const mcp = createNetServer((socket) => {
      track(socket);
      const server = createMcpServer(o.subagents);
      socket.once("close", () => void server.close().catch(() => undefined));
      socket.on("error", () => socket.destroy());
      server.connect(new StdioServerTransport(socket, socket)).catch(() => socket.destroy());
    });
    await listen(mcp, "mcp.sock");
    const config = { mcpServers: { sabuild: { type: "stdio", command: "/opt/sabuild/node", args: [`${ITEM_MOUNT}/bridge.mjs`, "stdio", `${ITEM_MOUNT}/mcp.sock`] } } };
    await writeFile(join(o.dir, "mcp.json"), `${JSON.stringify(config, null, 1)}\n`);
    mcpConfig = `${ITEM_MOUNT}/mcp.json`;
  }
  const path = new URL(o.upstream).pathname.replace(/\/+$/, "");
  return {
    baseUrl: `http://127.0.0.1:${FORWARD_PORT}${path}`,
    ...(mcpConfig ? { mcpConfig } : {}),
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

/** Forwards one request to the upstream origin, streaming both ways, with the real credential. */
function proxy(req: IncomingMessage, res: ServerResponse, upstream: string, apiKey: string): void {
  const target = new URL(upstream);
  const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
  if (apiKey) {
    if (headers["x-api-key"] !== undefined) headers["x-api-key"] = apiKey;
    if (headers.authorization !== undefined) headers.authorization = `Bearer ${apiKey}`;
  }
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  const out = send({ protocol: target.protocol, hostname: target.hostname, port: target.port || undefined, method: req.method, path: req.url, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
    // A stream cut off on either side ends the other; neither may take sabuild down.
    up.on("error", () => res.destroy());
  });
  req.on("error", () => out.destroy());
  res.on("error", () => out.destroy());
  out.on("error", (e) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ type: "error", error: { type: "api_error", message: `sabuild's proxy could not reach the model endpoint: ${e.message}` } }));
  });
  req.pipe(out);
}
