import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRecipeImage, openSandbox, projectLabels, type SandboxImage, type SandboxSession } from "../src/sandbox/index.js";
import { runToolCall, type ToolContext } from "../src/tools/index.js";
import { connectMcp } from "../src/tools/mcp.js";
import { declaredServers } from "../src/tools/mcp-declared.js";
import { McpRecords } from "../src/tools/mcp-records.js";
import { openRolloutMcp } from "../src/tools/mcp-rollout.js";
import type { ImportedMcpServer, RecordedResult } from "../src/tools/types.js";
import type { Trace } from "../src/traces/types.js";
import { makeProject, sabuild, sabuildJson, tempDir } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { SERVER, SERVER_IN_IMAGE, writeInventoryRecipe } from "./support/mcp-recipe.js";

/**
 * A stdio MCP server written with the SDK, run inside the rollout's container (the recipe installs
 * it; the container keeps network none) and on the host (run: host), through the real CLI with a
 * stand-in teacher that calls its tools. Results are recorded in the store and replayed with the
 * server broken; the secret the server needs (an ${VAR} in its env) reaches no key, record or trace.
 */

const CANARY = "canary-7f3a9c-never-stored";

// count, restock, count again: the second count only comes out right if the server kept the restock.
const POLICY = `
export function policy(request) {
  const tools = request.messages.filter((m) => m.role === "tool");
  const offered = (request.tools ?? []).map((t) => t.function.name).join(",");
  if (tools.length === 0) return { tool_calls: [{ name: "mcp__inventory__count", arguments: { item: "pear" } }] };
  if (tools.length === 1) return { tool_calls: [{ name: "mcp__inventory__restock", arguments: { amount: 4, item: "pear" } }] };
  if (tools.length === 2) return { tool_calls: [{ name: "mcp__inventory__count", arguments: { item: "pear" } }] };
  return { content: "<final_answer>" + tools.map((t) => t.content.split("\\n")[0]).join("; ") + " [" + offered + "]</final_answer>" };
}
`;

function config(o: { mode: string; runs: "sandbox" | "host" }): string {
  const server =
    o.runs === "sandbox"
      ? `{command: node, args: [${SERVER_IN_IMAGE}], env: {INVENTORY_NEEDS_TOKEN: "1", INVENTORY_TOKEN: "\${INVENTORY_TOKEN}"}}`
      : `{command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(SERVER)}], env: {INVENTORY_NEEDS_TOKEN: "1", INVENTORY_TOKEN: "\${INVENTORY_TOKEN}", INVENTORY_PID_FILE: server.pid}, run: host}`;
  return `version: 1
subagents:
  stocker:
    source:
      inline:
        description: Keeps the stock
        prompt: You keep the stock.
        tools: [${o.runs === "sandbox" ? "mcp__inventory" : "mcp__inventory__count, mcp__inventory__restock"}]
    mcp_servers: {inventory: ${server}}
    mcp_mode: ${o.mode}
    teacher: {standin: policy.mjs, model: scripted}
    sandbox: {recipe: ${o.runs === "sandbox" ? "inventory" : "shell"}}
    tasks: {from: tasks.jsonl, holdout: 0, count: 1}
    traces: {max_turns: 5}
`;
}

function traces(dir: string): Record<string, Trace> {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "stocker:traces"]);
  const out: Record<string, Trace> = {};
  for (const f of art.files) {
    const m = /^items\/([^/]+)\/trace\.json$/.exec(f.path);
    if (m) out[m[1]!] = JSON.parse(readFileSync(f.blob, "utf8")) as Trace;
  }
  return out;
}

/** Nothing left running: no container of the project, and (on the host) not the last server started. */
function expectNoLeftovers(dir: string): void {
  const containers = execFileSync("docker", ["ps", "-aq", "--filter", `label=sabuild.project=${projectLabels(realpathSync(dir))["sabuild.project"]}`], { encoding: "utf8" }).trim();
  expect(containers).toBe("");
  const pidFile = join(dir, "server.pid");
  if (existsSync(pidFile)) expect(() => process.kill(Number(readFileSync(pidFile, "utf8")), 0)).toThrow();
}

/** Every file under dir that holds the text (grep exits 1 when none does). */
function filesHolding(dir: string, text: string): string[] {
  try {
    return execFileSync("grep", ["-rlF", text, dir], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch (e) {
    if ((e as { status?: number }).status === 1) return [];
    throw e;
  }
}

describe.each(["sandbox", "host"] as const)("an MCP server (run: %s) through the traces stage", (runs) => {
  let dir: string;

  beforeAll(async () => {
    await ensureDocker();
    dir = makeProject({ "policy.mjs": POLICY, "tasks.jsonl": `${JSON.stringify({ id: "pears", prompt: "How many pears after restocking 4?" })}\n` });
    await writeInventoryRecipe(dir);
  }, 120_000);

  it("offers the server's tools, keeps its state through the rollout, records every result, and replays them with the server broken", () => {
    writeFileSync(join(dir, "subagents.yaml"), config({ mode: "record", runs }));
    const built = sabuild(dir, ["build", "stocker:traces"], { INVENTORY_TOKEN: CANARY });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    expectNoLeftovers(dir);
    if (runs === "host") expect(existsSync(join(dir, "server.pid"))).toBe(true);
    if (runs === "host") expect(built.stdout + built.stderr).toContain('the MCP server "inventory" runs on the host (run: host), outside the sandbox');
    const tools = JSON.parse(readFileSync(join(sabuildJson<{ tree: string }>(dir, ["artifacts", "stocker:import"]).tree, "tools.json"), "utf8"));
    expect(tools.mcp).toEqual([
      runs === "sandbox"
        ? { server: "inventory", runs: "sandbox", tools: [], all: true, declared: { command: "node", args: [SERVER_IN_IMAGE], env: { INVENTORY_NEEDS_TOKEN: "1", INVENTORY_TOKEN: "${INVENTORY_TOKEN}" } } }
        : expect.objectContaining({ server: "inventory", runs: "host", tools: [{ name: "mcp__inventory__count", tool: "count" }, { name: "mcp__inventory__restock", tool: "restock" }] }),
    ]);

    const trace = traces(dir)["pears.s0"]!;
    expect(trace.status, trace.error).toBe("completed");
    const offered = runs === "sandbox" ? "mcp__inventory__count,mcp__inventory__restock,mcp__inventory__fail,mcp__inventory__crash" : "mcp__inventory__count,mcp__inventory__restock";
    expect(trace.final_answer).toBe(`pear: 3; pear: 7; pear: 7 [${offered}]`);
    expect(trace.tools.map((t) => t.function.name)).toEqual(offered.split(","));
    expect(trace.tools[0]!.function.parameters).toMatchObject({ type: "object", properties: { item: { type: "string" } }, required: ["item"] });
    expect(trace.mcp).toEqual([{ server: "inventory", runs, tools_digest: expect.stringMatching(/^[0-9a-f]{64}$/), from: runs === "sandbox" ? "live" : "import" }]);
    // Each call's result is in the store, named in the trace by its record's digest.
    const calls = trace.messages.flatMap((m) => m.tool_calls ?? []).map((c) => c.id);
    expect(trace.recorded).toEqual(calls.map((id) => ({ tool_call_id: id, kind: "mcp", key: expect.stringMatching(/^[0-9a-f]{64}$/), digest: expect.stringMatching(/^[0-9a-f]{64}$/), from: "live" })));
    // The two counts had the same arguments but other calls before them: two records.
    expect(new Set(trace.recorded!.map((r) => r.key)).size).toBe(3);
    const stored = filesHolding(join(dir, "cache"), '"kind":"mcp_call"');
    expect(stored.length).toBeGreaterThanOrEqual(3);

    // The secret reached the server (it refuses to start without it) and nothing else.
    expect(filesHolding(dir, CANARY)).toEqual([]);

    // Broken (its token revoked), the server cannot start: a live build fails...
    writeFileSync(join(dir, "subagents.yaml"), config({ mode: "live", runs }));
    const live = sabuild(dir, ["build", "stocker:traces"], { INVENTORY_TOKEN: "revoked" });
    if (runs === "sandbox") {
      expect(live.code).toBe(1);
      expect(live.stdout + live.stderr).toContain("the token is missing or revoked");
    } else {
      // (a host server's tools were listed at import: the calls fail, as tool errors the model sees)
      expect(live.code, live.stdout + live.stderr).toBe(0);
      expect(traces(dir)["pears.s0"]!.final_answer).toContain('The MCP server "inventory" failed on count');
    }

    // ...and a replay gives the same trace from the store, never starting it.
    writeFileSync(join(dir, "subagents.yaml"), config({ mode: "replay", runs }));
    const replayed = sabuild(dir, ["build", "stocker:traces"], { INVENTORY_TOKEN: "revoked" });
    expect(replayed.code, replayed.stdout + replayed.stderr).toBe(0);
    const again = traces(dir)["pears.s0"]!;
    expect(again.messages).toEqual(trace.messages);
    expect(again.tools).toEqual(trace.tools);
    expect(again.recorded).toEqual(trace.recorded!.map((r: RecordedResult & { tool_call_id: string }) => ({ ...r, from: "stored" })));
    expect(again.mcp).toEqual(trace.mcp!.map((m) => ({ ...m, from: runs === "sandbox" ? "stored" : "import" })));
    expect(filesHolding(dir, CANARY)).toEqual([]);
    expectNoLeftovers(dir);
  }, 600_000);
});

describe("the MCP session of a rollout in its container", () => {
  let image: SandboxImage;
  let box: SandboxSession;
  let ctx: ToolContext;
  const servers = declaredServers([{ from: "test", value: { inventory: { command: "node", args: [SERVER_IN_IMAGE] } } }]);
  if (!servers.ok) throw new Error(servers.error.join("\n"));

  beforeAll(async () => {
    await ensureDocker();
    const project = tempDir("sabuild-mcp-recipe-");
    await writeInventoryRecipe(project);
    image = await buildRecipeImage({ recipe: "inventory", projectRoot: project });
    box = await openSandbox(image);
    ctx = { sandbox: box };
  }, 600_000);

  afterAll(async () => {
    await box?.close();
  });

  const serverProcesses = async (): Promise<string[]> =>
    (await box.exec(["ps", "-eo", "args"])).stdout
      .split("\n")
      .filter((l) => l.includes(SERVER_IN_IMAGE));

  it("starts the server in the container, with the container's environment, and close() ends it", async () => {
    const conn = await connectMcp({ name: "inventory", command: "node", args: [SERVER_IN_IMAGE], cwd: "/tmp", env: { INVENTORY_PID_FILE: "/tmp/pid" } }, { sandbox: box });
    try {
      expect(conn.listed.map((t) => t.name)).toEqual(["count", "restock", "fail", "crash"]);
      expect(await serverProcesses()).toHaveLength(1);
      expect((await box.exec(["cat", "/tmp/pid"])).exitCode).toBe(0);
      expect(await runToolCall(conn.tools, "mcp__inventory__restock", '{"item":"apple","amount":2}', ctx)).toEqual({ content: "apple: 14\n[image image/png content not shown]", isError: false });
      expect(await runToolCall(conn.tools, "mcp__inventory__fail", "{}", ctx)).toEqual({ content: "the warehouse is closed", isError: true });
    } finally {
      await conn.close();
    }
    expect(await serverProcesses()).toEqual([]);
  });

  it("a server that dies mid-call is a tool error; one that cannot start says why", async () => {
    const conn = await connectMcp({ name: "inventory", command: "node", args: [SERVER_IN_IMAGE] }, { sandbox: box });
    const crashed = await runToolCall(conn.tools, "mcp__inventory__crash", "{}", ctx);
    expect(crashed.isError).toBe(true);
    expect(crashed.content).toContain('The MCP server "inventory" failed on crash');
    await conn.close();
    expect(await serverProcesses()).toEqual([]);
    await expect(connectMcp({ name: "inventory", command: "node", args: [SERVER_IN_IMAGE], env: { INVENTORY_NEEDS_TOKEN: "1" } }, { sandbox: box })).rejects.toThrow(
      /cannot start the MCP server "inventory": [\s\S]*the token is missing or revoked/,
    );
    await expect(connectMcp({ name: "inventory", command: "node", args: [SERVER_IN_IMAGE] })).rejects.toThrow("runs in the sandbox, and no sandbox session was given");
  });

  it("a rollout's session: named tools are checked against the listing; record then replay; a missed call fails the rollout", async () => {
    const records = new McpRecords(tempDir("sabuild-mcp-store-"));
    const entry = (tools: string[]): ImportedMcpServer[] => [{ server: "inventory", runs: "sandbox", tools: tools.map((t) => ({ name: `mcp__inventory__${t}`, tool: t })) }];
    const open = (mode: "record" | "replay" | "live", tools: string[]) =>
      openRolloutMcp({ servers: servers.value, imported: entry(tools), definitions: [], mode, records, root: "/", image, modeKey: "subagents.stocker.mcp_mode", sandbox: async () => box });

    await expect(open("record", ["count", "gone"])).rejects.toThrow('the MCP server "inventory" in the sandbox offers no tool gone (it lists: count, restock, fail, crash)');

    const seen: RecordedResult[] = [];
    const recording = await open("record", ["count", "restock"]);
    const call = (m: typeof recording, name: string, args: object) => runToolCall(m.tools, `mcp__inventory__${name}`, JSON.stringify(args), { sandbox: box, recorded: (r) => seen.push(r) });
    try {
      expect(recording.definitions.map((d) => d.function.name)).toEqual(["mcp__inventory__count", "mcp__inventory__restock"]);
      expect((await call(recording, "count", { item: "pear" })).content).toBe("pear: 3");
      expect((await call(recording, "restock", { item: "pear", amount: 1 })).content).toContain("pear: 4");
    } finally {
      await recording.close();
    }
    expect(await serverProcesses()).toEqual([]);

    // Record mode again: the first two calls come from the store; the third misses, so the live
    // server is first given the two before it, and answers as if it had seen them.
    seen.length = 0;
    const again = await open("record", ["count", "restock"]);
    try {
      expect((await call(again, "count", { item: "pear" })).content).toBe("pear: 3");
      expect((await call(again, "restock", { item: "pear", amount: 1 })).content).toContain("pear: 4");
      expect(await serverProcesses()).toEqual([]);
      expect((await call(again, "count", { item: "pear" })).content).toBe("pear: 4");
    } finally {
      await again.close();
    }
    expect(seen.map((r) => r.from)).toEqual(["stored", "stored", "live"]);

    const replaying = await open("replay", ["count", "restock"]);
    try {
      expect((await call(replaying, "count", { item: "pear" })).content).toBe("pear: 3");
      await expect(call(replaying, "count", { item: "apple" })).rejects.toThrow("subagents.stocker.mcp_mode is replay and the store holds no recorded result for the call mcp__inventory__count");
    } finally {
      await replaying.close();
    }
  });
});
