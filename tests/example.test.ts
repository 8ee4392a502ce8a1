import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, copyExample, sabuild, sabuildJson, startServe } from "./helpers.js";

// The bundled example end to end, as the README's main command runs it, for one subagent (the
// changelog-writer skill: the quickest sandbox): setup makes the tiny Qwen3, then one build goes
// from import to the report with real Docker sandboxes, TRL/PEFT, llama.cpp and the stand-in
// teacher; then the built student is served (gateway and MCP).

type Stages = { ok: boolean; stages: { id: string; status: string }[] };
let dir: string;

beforeAll(() => {
  dir = copyExample();
  const setup = sabuild(dir, ["setup", "--tiny-model", "example/models/tiny-qwen3", "--skip", "docker,images"]);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
}, 900_000);

describe("the bundled example", () => {
  it("builds a subagent from import to report in one sabuild build, then nothing is left to do", () => {
    const build = sabuildJson<Stages>(dir, ["build", "changelog-writer"]);
    expect(build.ok, JSON.stringify(build.stages)).toBe(true);
    const ids = build.stages.map((s) => s.id);
    for (const k of ["import", "sandbox", "tasks", "traces", "dataset", "train", "export", "eval", "report"]) expect(ids).toContain(`changelog-writer:${k}`);
    expect(build.stages.every((s) => s.status === "built")).toBe(true);

    const again = sabuildJson<Stages>(dir, ["build", "changelog-writer"]);
    expect(again.stages.every((s) => s.status === "up-to-date")).toBe(true);

    const report = sabuildJson<{ ok: boolean; reports: { subagent: string; html: string; markdown: string }[] }>(dir, ["report", "changelog-writer"]);
    expect(report.ok).toBe(true);
    const html = readFileSync(report.reports[0]!.html, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("scripted stand-in");
    const md = readFileSync(report.reports[0]!.markdown, "utf8");
    expect(md).toMatch(/\| success rate \|/);
    expect(md).toContain("Gate: off");

    // What the pipeline left in the store: a dataset card, an adapter, GGUF files, eval results.
    const files = (target: string): string[] => sabuildJson<{ files: { path: string }[] }>(dir, ["artifacts", target]).files.map((f) => f.path);
    expect(files("changelog-writer:dataset")).toEqual(expect.arrayContaining(["train.jsonl", "stats.json", "card.md"]));
    expect(files("changelog-writer:train")).toEqual(expect.arrayContaining(["adapter/adapter_model.safetensors", "metrics.json"]));
    expect(files("changelog-writer:export").filter((f) => f.endsWith(".gguf")).length).toBeGreaterThanOrEqual(2);
    expect(files("changelog-writer:export")).toEqual(expect.arrayContaining(["Modelfile", "fidelity.json", "export.json"]));
    const evalFiles = files("changelog-writer:eval");
    expect(evalFiles).toContain("eval.json");
    // The teacher's rollouts were judged before they became rows.
    expect(files("changelog-writer:dataset").some((f) => f.startsWith("judge/"))).toBe(true);

    // Eval's results trained the router: each held-out task the student ran is an outcome (no
    // benchmark offers changelog-writer, so nothing else is), and the report has the curve's figures.
    const blob = (target: string, path: string): string =>
      readFileSync(sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", target]).files.find((f) => f.path === path)!.blob, "utf8");
    const evalTasks = (JSON.parse(blob("changelog-writer:eval", "eval.json")) as { tasks: { id: string; results: { student?: unknown } }[] }).tasks.filter((t) => t.results.student);
    expect(evalTasks.length).toBeGreaterThan(0);
    const router = JSON.parse(blob("changelog-writer:router", "router.json")) as { outcomes: { id: string; source: string }[] };
    expect(router.outcomes.map((o) => [o.id, o.source]).sort()).toEqual(evalTasks.map((t) => [t.id, "eval"]).sort());
    expect(md).toMatch(/Learned router: APGR (n\/a|-?[\d.]+), CPT\(50%\) .+, CPT\(80%\) .+ over \d+ eval tasks/);
    expect(md).toContain("Main-agent tokens: n/a (no benchmark offers changelog-writer).");
    // route calibrate sets the threshold in the example's subagents.yaml, and rebuilds nothing.
    const calibrated = sabuildJson<{ threshold: number; escalated: number }>(dir, ["route", "calibrate", "changelog-writer", "--max-escalation", "0.2"]);
    expect(calibrated.__code).toBe(0);
    expect(calibrated.escalated).toBeLessThanOrEqual(0.2);
    expect(readFileSync(join(dir, "subagents.yaml"), "utf8")).toMatch(new RegExp(`  changelog-writer:[\\s\\S]*route:[\\s\\S]*threshold: ${calibrated.threshold}\\n`));
    expect(sabuildJson<Stages>(dir, ["build", "changelog-writer"]).stages.every((s) => s.status === "up-to-date")).toBe(true);
  }, 1_800_000);

  it("fails the build on a missed eval target when gating, and still writes the report", () => {
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(
      cfg,
      readFileSync(cfg, "utf8").replace("    sandbox:\n      recipe: shell\n", '    sandbox:\n      recipe: shell\n    eval:\n      gate: true\n      targets:\n        success_vs_teacher: ">= 0.95"\n        max_cost_per_task: 1\n'),
    );
    const r = sabuild(dir, ["build", "changelog-writer"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/changelog-writer:eval: eval targets missed: success_vs_teacher >= 0\.95 \(actual [\d.]+\)/);
    expect(r.stderr).not.toMatch(/max_cost_per_task/);
    // The eval results stay in the store: the report shows them, and says the gate was missed.
    const report = sabuildJson<{ ok: boolean; reports: { markdown: string }[]; gate: { id: string }[] }>(dir, ["report", "changelog-writer"]);
    expect(report.__code).toBe(1);
    expect(report.gate.map((g) => g.id)).toEqual(["changelog-writer:eval"]);
    expect(readFileSync(report.reports[0]!.markdown, "utf8")).toContain("Gate: **missed**");
  }, 900_000);

  it("serves the student behind the gateway, with the teacher as fallback, and as an MCP tool", async () => {
    const { child, ready } = await startServe<{ url: string; metrics: string; models: string[] }>(dir, ["changelog-writer", "--port", "0"]);
    try {
      expect(ready.models).toEqual(["subagent/changelog-writer"]);
      const client = new OpenAI({ baseURL: ready.url, apiKey: "unused", maxRetries: 0 });
      const r = await client.chat.completions
        .create({ model: "subagent/changelog-writer", max_tokens: 64, messages: [{ role: "user", content: "Prepare the changelog entry for the next release." }] })
        .withResponse();
      // The tiny random student cannot keep the output contract: the teacher answers instead.
      const who = r.response.headers.get("x-sabuild-answered-by");
      expect(["student", "teacher"]).toContain(who);
      if (who === "teacher") expect(r.response.headers.get("x-sabuild-fallback")).toBe("contract");
      const metrics = await (await fetch(ready.metrics)).text();
      expect(metrics).toMatch(/sabuild_gateway_requests_total\{answered_by="(student|teacher)",route="changelog-writer"\} 1/);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }

    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "serve", "--mcp", "changelog-writer"], cwd: dir, env: { ...(process.env as Record<string, string>), CI: "1" }, stderr: "ignore" });
    const mcp = new Client({ name: "sabuild-test", version: "1.0.0" });
    await mcp.connect(transport);
    try {
      const tools = await mcp.listTools();
      expect(tools.tools.map((t) => t.name)).toEqual(["subagent_changelog-writer"]);
      expect(tools.tools[0]!.inputSchema.properties).toHaveProperty("prompt");
      // The call is a whole rollout of the tiny student on llama-server (CPU), then the teacher's:
      // over the SDK's 60 s default on a loaded 2-core machine, as Claude Code's MCP_TOOL_TIMEOUT allows.
      const result = await mcp.callTool({ name: "subagent_changelog-writer", arguments: { prompt: "Write release notes for everything since v1.2.0, but leave out dependency bumps." } }, undefined, { timeout: 300_000 });
      const text = (result.content as { type: string; text: string }[])[0]!.text;
      expect(result.isError ?? false).toBe(false);
      expect(text.length).toBeGreaterThan(0);
      expect(["student", "teacher"]).toContain((result._meta as { answered_by: string }).answered_by);
    } finally {
      await mcp.close();
    }
    expect(existsSync(join(dir, "example/models/tiny-qwen3/config.json"))).toBe(true);
  }, 600_000);
});
