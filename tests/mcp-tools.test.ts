import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SandboxSession } from "../src/sandbox/index.js";
import { runToolCall, toOpenAiTools, type ToolContext } from "../src/tools/index.js";
import { connectMcp, mcpToolName, type McpConnection } from "../src/tools/mcp.js";
import { REPO, tempDir } from "./helpers.js";
import { shellSandbox } from "./support/tool-sandbox.js";

// MCP tools through the official SDK's client, against a stdio server written with the SDK.

const SERVER = join(REPO, "tests/fixtures/mcp/inventory-server.mjs");
let sandbox: SandboxSession;
let ctx: ToolContext;

beforeAll(async () => {
  sandbox = await shellSandbox();
  ctx = { sandbox };
}, 600_000);

afterAll(async () => {
  await sandbox?.close();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (alive(pid)) {
    if (Date.now() > until) throw new Error(`process ${pid} still running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("MCP servers as tool providers", () => {
  let conn: McpConnection;
  let pid: number;

  beforeAll(async () => {
    const pidFile = join(tempDir("sabuild-mcp-"), "pid");
    conn = await connectMcp({ name: "inventory", command: process.execPath, args: [SERVER], env: { PATH: process.env["PATH"] ?? "", INVENTORY_PID_FILE: pidFile } });
    pid = Number(readFileSync(pidFile, "utf8"));
  });

  afterAll(async () => {
    await conn?.close();
  });

  test("the server's tools are offered as mcp__<server>__<tool> with its schemas", () => {
    expect(conn.tools.map((t) => t.name)).toEqual(["mcp__inventory__count", "mcp__inventory__restock", "mcp__inventory__fail", "mcp__inventory__crash"]);
    const [count] = toOpenAiTools(conn.tools);
    expect(count).toMatchObject({
      type: "function",
      function: { name: "mcp__inventory__count", description: "How many of an item are in stock.", parameters: { type: "object", properties: { item: { type: "string", description: "The item's name" } }, required: ["item"] } },
    });
    expect(conn.listed.map((t) => t.name)).toEqual(["count", "restock", "fail", "crash"]);
    expect(mcpToolName("my server", "get.item")).toBe("mcp__my_server__get_item");
  });

  test("calls reach the server; text comes back, other content is named, isError is kept", async () => {
    expect(await runToolCall(conn.tools, "mcp__inventory__count", '{"item":"apple"}', ctx)).toEqual({ content: "apple: 12", isError: false });
    expect(await runToolCall(conn.tools, "mcp__inventory__restock", '{"item":"pear","amount":4}', ctx)).toEqual({ content: "pear: 7\n[image image/png content not shown]", isError: false });
    expect(await runToolCall(conn.tools, "mcp__inventory__count", '{"item":"pear"}', ctx)).toEqual({ content: "pear: 7", isError: false });
    expect(await runToolCall(conn.tools, "mcp__inventory__fail", "{}", ctx)).toEqual({ content: "the warehouse is closed", isError: true });
    const invalid = await runToolCall(conn.tools, "mcp__inventory__restock", '{"item":"pear","amount":-1}', ctx);
    expect(invalid.isError).toBe(true);
  });

  test("a server that dies mid-call is a tool error, and close() leaves no process", async () => {
    const crashed = await runToolCall(conn.tools, "mcp__inventory__crash", "{}", ctx);
    expect(crashed.isError).toBe(true);
    expect(crashed.content).toContain('The MCP server "inventory" failed on crash');
    await conn.close();
    await waitGone(pid);
  });

  test("a server that cannot start says why, with its stderr", async () => {
    await expect(connectMcp({ name: "broken", command: process.execPath, args: ["-e", "console.error('missing API token'); process.exit(2)"] })).rejects.toThrow(
      /cannot start the MCP server "broken": [\s\S]*missing API token/,
    );
  });
});
