import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { CLI, copyExample, startServe } from "./helpers.js";

// Serving what exists (issue 14 §4): on a project whose students are not built, `serve` and
// `serve --mcp` still start; a subagent without an exported student is answered by its teacher.

describe("serve before any student is built", () => {
  it("starts the gateway, warns per subagent without a student, and its teacher answers with route reason no-student", async () => {
    const dir = copyExample();
    const { child, ready, stderr } = await startServe<{ url: string; models: string[]; students: string[]; teacher_only: string[] }>(dir, ["--port", "0"]);
    try {
      expect(ready.students).toEqual([]);
      expect(ready.teacher_only).toContain("changelog-writer");
      expect(ready.models).toContain("subagent/changelog-writer");
      expect(stderr()).toMatch(/warning: changelog-writer has no exported model for its current inputs .*run `sabuild build changelog-writer:export` for a student; until then its teacher answers \(route reason no-student\)/);
      const client = new OpenAI({ baseURL: ready.url, apiKey: "unused", maxRetries: 0 });
      const r = await client.chat.completions.create({ model: "subagent/changelog-writer", messages: [{ role: "user", content: "Prepare the changelog entry for the next release." }] }).withResponse();
      expect(r.response.headers.get("x-sabuild-answered-by")).toBe("teacher");
      expect(r.response.headers.get("x-sabuild-route-reason")).toBe("no-student");
      expect((r.data as unknown as { sabuild: { route_reason: string } }).sabuild.route_reason).toBe("no-student");
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  }, 120_000);

  it("starts the MCP server too (Claude Code connects); a subagent it cannot run yet says what to build", async () => {
    const dir = copyExample();
    let stderr = "";
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "serve", "--mcp", "changelog-writer"], cwd: dir, env: { ...(process.env as Record<string, string>), CI: "1" }, stderr: "pipe" });
    transport.stderr?.on("data", (d) => (stderr += d));
    const mcp = new Client({ name: "sabuild-test", version: "1.0.0" });
    await mcp.connect(transport);
    try {
      const tools = await mcp.listTools();
      expect(tools.tools.map((t) => t.name)).toEqual(["subagent_changelog-writer"]);
      // No sandbox image yet: even the teacher has no container to run the agent loop in.
      const result = await mcp.callTool({ name: "subagent_changelog-writer", arguments: { prompt: "Write release notes." } });
      expect(result.isError).toBe(true);
      expect((result.content as { text: string }[])[0]!.text).toMatch(/changelog-writer:(import|sandbox) has no output for its current inputs: run `sabuild build changelog-writer:(import|sandbox)`/);
      expect(stderr).toMatch(/warning: changelog-writer cannot run over MCP yet/);
    } finally {
      await mcp.close();
    }
  }, 120_000);
});
