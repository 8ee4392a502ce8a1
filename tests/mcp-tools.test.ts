import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SandboxSession } from "../src/sandbox/index.js";
import { runToolCall, toOpenAiTools, type ToolContext } from "../src/tools/index.js";
import { connectMcp, mcpToolName, type McpConnection } from "../src/tools/mcp.js";
import { declaredServers } from "../src/tools/mcp-declared.js";
import { McpRecords } from "../src/tools/mcp-records.js";
import { openRolloutMcp } from "../src/tools/mcp-rollout.js";
import { makeProject, REPO, sabuild, sabuildJson, tempDir } from "./helpers.js";
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
    conn = await connectMcp({ name: "inventory", command: process.execPath, args: [SERVER], run: "host", env: { PATH: process.env["PATH"] ?? "", INVENTORY_PID_FILE: pidFile } });
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
    await expect(connectMcp({ name: "broken", command: process.execPath, args: ["-e", "console.error('missing API token'); process.exit(2)"], run: "host" })).rejects.toThrow(
      /cannot start the MCP server "broken": [\s\S]*missing API token/,
    );
  });
});

describe("declared MCP servers and the import stage", () => {
  const server = `{command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(SERVER)}], run: host}`;
  const config = (tools: string, extra = "") =>
    ["version: 1", "subagents:", "  stocker:", `    source: {inline: {description: Keeps the stock, prompt: Check the stock., tools: [${tools}]}}`, `    mcp_servers: {inventory: ${server}}`, extra, ""].join("\n");

  test("a declared server's tools are given with its schemas; tools of undeclared servers still fail", () => {
    const failing = makeProject({ "subagents.yaml": config("Read, mcp__inventory__count, mcp__jira__search") });
    const r = sabuild(failing, ["build", "stocker:import"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the subagent's tools include one that sabuild cannot run: mcp__jira__search");

    const dir = makeProject({ "subagents.yaml": config("Read, mcp__inventory__count") });
    const built = sabuild(dir, ["build", "stocker:import"]);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const { tree } = sabuildJson<{ tree: string }>(dir, ["artifacts", "stocker:import"]);
    const tools = JSON.parse(readFileSync(join(tree, "tools.json"), "utf8"));
    expect(tools).toMatchObject({ resolved: ["Read", "mcp__inventory__count"], dropped: [], mcp: [{ server: "inventory", runs: "host", tools: [{ name: "mcp__inventory__count", tool: "count" }] }] });
    expect(built.stdout + built.stderr).toContain('warning: the MCP server "inventory" runs on the host (run: host), outside the sandbox');
    expect(tools.definitions[1]).toEqual({
      type: "function",
      function: { name: "mcp__inventory__count", description: "How many of an item are in stock.", parameters: expect.objectContaining({ type: "object", required: ["item"] }) },
    });
  });

  test("an agent file's mcpServers declare servers; mcp__<server> alone gives all its tools", () => {
    const dir = makeProject({
      "agents/stocker.md": `---\nname: stocker\ndescription: Keeps the stock\ntools: Read, mcp__inventory\nmcpServers:\n  inventory:\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(SERVER)}]\n    run: host\n---\nCheck the stock.\n`,
      "subagents.yaml": "version: 1\nsubagents:\n  stocker:\n    source: {agent: agents/stocker.md}\n",
    });
    const built = sabuild(dir, ["build", "stocker:import"]);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const { tree } = sabuildJson<{ tree: string }>(dir, ["artifacts", "stocker:import"]);
    const tools = JSON.parse(readFileSync(join(tree, "tools.json"), "utf8"));
    expect(tools.resolved).toEqual(["Read", "mcp__inventory__count", "mcp__inventory__restock", "mcp__inventory__fail", "mcp__inventory__crash"]);
  });

  test("a plugin's .mcp.json declares servers for its agents, ${CLAUDE_PLUGIN_ROOT} naming the plugin's folder", () => {
    const dir = makeProject({
      "plugins/shop/.claude-plugin/plugin.json": JSON.stringify({ name: "shop" }),
      "plugins/shop/.mcp.json": JSON.stringify({ mcpServers: { inventory: { command: process.execPath, args: ["${CLAUDE_PLUGIN_ROOT}/start.mjs"], run: "host" } } }),
      "plugins/shop/start.mjs": `await import(${JSON.stringify(SERVER)});\n`,
      "plugins/shop/agents/stocker.md": "---\nname: stocker\ndescription: Keeps the stock\ntools: Read, mcp__inventory__count\n---\nCheck the stock.\n",
      "subagents.yaml": "version: 1\nsubagents:\n  stocker:\n    source: {plugin: plugins/shop, name: stocker}\n",
    });
    const built = sabuild(dir, ["build", "stocker:import"]);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const { tree } = sabuildJson<{ tree: string }>(dir, ["artifacts", "stocker:import"]);
    expect(JSON.parse(readFileSync(join(tree, "tools.json"), "utf8")).resolved).toEqual(["Read", "mcp__inventory__count"]);
    expect(JSON.parse(readFileSync(join(tree, "spec.json"), "utf8")).mcpServers).toEqual({ inventory: { command: process.execPath, args: ["plugins/shop/start.mjs"], run: "host" } });
  });

  test("a server that does not start fails the import with its message", () => {
    const dir = makeProject({ "subagents.yaml": config("mcp__inventory__count").replace(JSON.stringify(SERVER), JSON.stringify(join(REPO, "tests/fixtures/mcp/missing.mjs"))) });
    const r = sabuild(dir, ["build", "stocker:import"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot start the MCP server "inventory"');
    expect(r.stderr).toContain("Cannot find module");
  });

  test("a server in the sandbox (the default) is not started at import: tools.json records the names asked for and its declaration", () => {
    const inSandbox = `{command: node, args: [/opt/inventory/server.mjs], env: {TOKEN: "\${INVENTORY_TOKEN}"}}`;
    const dir = makeProject({ "subagents.yaml": config("Read, mcp__inventory__count, mcp__inventory__restock, mcp__jira__search").replace(server, inSandbox) });
    const r = sabuild(dir, ["build", "stocker:import"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the subagent's tools include one that sabuild cannot run: mcp__jira__search");
    writeFileSync(join(dir, "subagents.yaml"), config("Read, mcp__inventory__count, mcp__inventory__restock").replace(server, inSandbox));
    const built = sabuild(dir, ["build", "stocker:import"], { INVENTORY_TOKEN: "not-in-any-file" });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const { tree } = sabuildJson<{ tree: string }>(dir, ["artifacts", "stocker:import"]);
    const tools = JSON.parse(readFileSync(join(tree, "tools.json"), "utf8"));
    expect(tools.resolved).toEqual(["Read", "mcp__inventory__count", "mcp__inventory__restock"]);
    expect(tools.definitions.map((d: { function: { name: string } }) => d.function.name)).toEqual(["Read"]);
    expect(tools.mcp).toEqual([
      {
        server: "inventory",
        runs: "sandbox",
        tools: [
          { name: "mcp__inventory__count", tool: "count" },
          { name: "mcp__inventory__restock", tool: "restock" },
        ],
        declared: { command: "node", args: ["/opt/inventory/server.mjs"], env: { TOKEN: "${INVENTORY_TOKEN}" } },
      },
    ]);
    expect(readFileSync(join(tree, "tools.json"), "utf8")).not.toContain("not-in-any-file");
    const bad = makeProject({ "subagents.yaml": config("mcp__inventory__count").replace(server, "{command: node, run: container}") });
    const refused = sabuild(bad, ["build", "stocker:import"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("run");
  });

  test("a rollout's host MCP tools are those import recorded, in their own session", async () => {
    const servers = declaredServers([{ from: "test", value: { inventory: { command: process.execPath, args: [SERVER], run: "host" } } }]);
    if (!servers.ok) throw new Error(servers.error.join("\n"));
    const definitions = [{ type: "function" as const, function: { name: "mcp__inventory__restock", description: "Adds items to the stock.", parameters: { type: "object" } } }];
    const open = (tools: { name: string; tool: string }[]) =>
      openRolloutMcp({
        servers: servers.value,
        imported: [{ server: "inventory", runs: "host", tools }],
        definitions,
        mode: "live",
        records: new McpRecords(tempDir("sabuild-mcp-store-")),
        root: REPO,
        image: sandbox.image,
        modeKey: "subagents.stocker.mcp_mode",
        sandbox: async () => sandbox,
      });
    const opened = await open([{ name: "mcp__inventory__restock", tool: "restock" }]);
    try {
      expect(opened.tools.map((t) => t.name)).toEqual(["mcp__inventory__restock"]);
      expect(opened.used).toEqual([{ server: "inventory", runs: "host", tools_digest: expect.stringMatching(/^[0-9a-f]{64}$/), from: "import" }]);
      expect((await runToolCall(opened.tools, "mcp__inventory__restock", '{"item":"apple","amount":1}', ctx)).content).toContain("apple: 13");
    } finally {
      await opened.close();
    }
    await expect(open([{ name: "mcp__inventory__gone", tool: "gone" }])).rejects.toThrow("tools.json lists mcp__inventory__gone without its definition");
    expect(declaredServers([{ from: "agents/x.md mcpServers", value: { bad: { args: ["x"] } } }])).toEqual({ ok: false, error: ['agents/x.md mcpServers: server "bad": needs a command (a stdio server) or a url (an HTTP server)'] });
  });
});
