import { spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, exited, makeProject, REPO, sabuild, sabuildJson, spawnSabuild, waitFor } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { TEST_PYTHON, tinyGguf } from "./support/tiny-gguf.js";

// Servers sabuild starts never outlive it. `serve`, `serve --mcp` and `build` run for real
// (Docker sandboxes, llama-server serving a tiny GGUF as the student, the stand-in teacher):
// a process that stops leaves none of its containers, and one killed with -9 leaves them only
// until the next sabuild command, which reaps them by their owner labels.

const ENV = { SABUILD_PYTHON: TEST_PYTHON, HF_HUB_OFFLINE: "1" };
let dir: string;

const SUBAGENT = (name: string, source: string[], recipe: string): string[] => [
  `  ${name}:`,
  "    source:",
  ...source,
  "    teacher: { standin: policy.mjs, model: scripted }",
  `    sandbox: { recipe: ${recipe} }`,
  // One task held out (the hash of its text decides), one for training.
  "    tasks: { from: tasks.jsonl, count: 2, holdout: 0.3 }",
  "    traces: { max_turns: 2 }",
  "    eval: { models: [student], max_tokens: 16, concurrency: 1 }",
];

beforeAll(async () => {
  await ensureDocker();
  const gguf = await tinyGguf();
  dir = makeProject({
    "subagents.yaml": [
      "version: 1",
      "plugins: [plugins/gguf-export.mjs]",
      "subagents:",
      ...SUBAGENT("runner", ["      inline:", "        description: Runs shell commands", "        prompt: You run commands and report what they print.", "        tools: [Bash, Read]"], "shell"),
      ...SUBAGENT("skilled", ["      skill: skills/trap"], "trap"),
      "",
    ].join("\n"),
    "tasks.jsonl": ['{"id":"t1","prompt":"Print the workspace listing."}', '{"id":"t2","prompt":"Show the kernel version."}', ""].join("\n"),
    "skills/trap/SKILL.md": "---\nname: trap\ndescription: Runs the bundled script.\nallowed-tools: Bash Read\n---\nRun scripts/hello.sh.\n",
    "skills/trap/scripts/hello.sh": "#!/bin/sh\necho hello\n",
    // A sandbox where the skill cannot be installed: its directory's path is taken by a file.
    "recipes/trap/recipe.yaml": "description: a sandbox that refuses skills\ntools: [Bash, Read]\nworkdir: /workspace\nuser: agent\n",
    "recipes/trap/Dockerfile": [
      "ARG BASE_IMAGE=debian:bookworm-slim",
      "FROM ${BASE_IMAGE}",
      "RUN useradd --create-home --uid 1000 agent && install -d -o agent -g agent /workspace && touch /tmp/sabuild-skill",
      "COPY --chown=agent:agent workspace/ /workspace/",
      "USER agent",
      "",
    ].join("\n"),
    "recipes/trap/workspace/README": "trap\n",
  });
  mkdirSync(join(dir, "plugins"));
  copyFileSync(join(REPO, "tests/fixtures/plugins/gguf-export.mjs"), join(dir, "plugins/gguf-export.mjs"));
  copyFileSync(join(REPO, "tests/fixtures/standin/rollout-policy.mjs"), join(dir, "policy.mjs"));
  symlinkSync(gguf, join(dir, "student.gguf"));
  const built = sabuildJson<{ ok: boolean }>(dir, ["build", "runner:sandbox", "runner:export", "skilled:sandbox", "skilled:export"], ENV);
  expect(built.ok, JSON.stringify(built)).toBe(true);
}, 600_000);

/** The containers a process owns by its labels (running or not), as their roles, sorted. */
function rolesOf(pid: number | undefined): string[] {
  const r = spawnSync("docker", ["ps", "-a", "--filter", `label=sabuild.owner.pid=${pid}`, "--format", '{{.ID}} {{.Label "sabuild.role"}}'], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ")[1] || "no role")
    .sort();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killed(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await exited(child);
}

/** `sabuild serve --mcp <subagent>` behind the real MCP SDK client, over stdio. */
async function mcpServer(subagent: string): Promise<{ client: Client; pid: number; log: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "serve", "--mcp", subagent], cwd: dir, env: { ...(process.env as Record<string, string>), CI: "1", ...ENV }, stderr: "pipe" });
  let log = "";
  transport.stderr!.on("data", (d) => (log += d));
  const client = new Client({ name: "sabuild-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, pid: transport.pid!, log: () => log };
}

type Meta = { answered_by: string; status: string; tool_calls: number };

/** `sabuild serve` (the gateway), once it printed its address. */
async function gateway(): Promise<ReturnType<typeof spawnSabuild>> {
  const child = spawnSabuild(dir, ["serve", "runner", "--port", "0", "--json"], ENV);
  await waitFor(() => child.output().includes('"url"') || child.exitCode !== null, 120_000, "the gateway");
  expect(child.exitCode, child.output()).toBeNull();
  return child;
}

describe("serve --mcp stops its model servers when its client goes away", () => {
  it("after a tool call, when the client closes its stdin: no container is left", async () => {
    const mcp = await mcpServer("runner");
    expect(rolesOf(mcp.pid)).toEqual(["llama-server"]);
    const r = await mcp.client.callTool({ name: "subagent_runner", arguments: { prompt: "Print the workspace listing." } });
    // The tiny student breaks the contract; the teacher answers after a command in the sandbox.
    expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
    expect(r._meta as Meta).toMatchObject({ answered_by: "teacher", status: "completed", tool_calls: 1 });
    await mcp.client.close();
    await waitFor(() => !alive(mcp.pid), 10_000, "serve --mcp to exit");
    expect(mcp.log()).toMatch(/client went away \(stdin closed\)/);
    expect(rolesOf(mcp.pid)).toEqual([]);
  }, 120_000);

  it("on SIGTERM after a tool call, and on SIGHUP: no container is left", async () => {
    for (const signal of ["SIGTERM", "SIGHUP"] as const) {
      const mcp = await mcpServer("runner");
      // A tool call's sandbox used to make the SIGTERM end the process before its model server went.
      if (signal === "SIGTERM") await mcp.client.callTool({ name: "subagent_runner", arguments: { prompt: "Print the workspace listing." } });
      process.kill(mcp.pid, signal);
      await waitFor(() => !alive(mcp.pid), 10_000, `serve --mcp to exit on ${signal}`);
      expect(mcp.log()).toContain(`client went away (${signal})`);
      expect({ signal, left: rolesOf(mcp.pid) }).toEqual({ signal, left: [] });
      await mcp.client.close();
    }
  }, 120_000);

  it("removes the sandbox of a skill that cannot be installed in it", async () => {
    const mcp = await mcpServer("skilled");
    const r = await mcp.client.callTool({ name: "subagent_skilled", arguments: { prompt: "Print the workspace listing." } });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/cannot copy the skill file scripts\/hello\.sh into the sandbox/);
    // While the server runs on: its model server, and no sandbox.
    expect(rolesOf(mcp.pid)).toEqual(["llama-server"]);
    await mcp.client.close();
  }, 120_000);
});

describe("containers of a process killed with -9 are reaped by the next sabuild command", () => {
  it("serve: the next serve removes its llama-server; SIGHUP stops the gateway cleanly", async () => {
    const first = await gateway();
    expect(rolesOf(first.pid)).toEqual(["llama-server"]);
    await killed(first);
    expect(rolesOf(first.pid)).toEqual(["llama-server"]);

    const next = await gateway();
    expect(rolesOf(first.pid)).toEqual([]);
    next.kill("SIGHUP");
    expect(await exited(next)).toBe(0);
    expect(rolesOf(next.pid)).toEqual([]);
  }, 180_000);

  it("serve --mcp in the middle of a tool call: the next build removes its model server and sandbox", async () => {
    const mcp = await mcpServer("runner");
    // "sleepy": the teacher takes 2 s over its first reply, with the sandbox open meanwhile.
    const call = mcp.client.callTool({ name: "subagent_runner", arguments: { prompt: "A sleepy listing of the workspace." } }).catch(() => undefined);
    await waitFor(() => rolesOf(mcp.pid).includes("sandbox"), 60_000, "the rollout's sandbox");
    process.kill(mcp.pid, "SIGKILL");
    await waitFor(() => !alive(mcp.pid), 10_000, "serve --mcp to die");
    await call;
    expect(rolesOf(mcp.pid)).toEqual(["llama-server", "sandbox"]);

    const build = sabuild(dir, ["build", "runner:eval"], ENV);
    expect(build.code, build.stderr).toBe(0);
    expect(rolesOf(mcp.pid)).toEqual([]);
  }, 180_000);

  it("build in the middle of eval: the next build removes its llama-server", async () => {
    expect(sabuild(dir, ["clean", "runner:eval"], ENV).code).toBe(0);
    const build = spawnSabuild(dir, ["build", "runner:eval"], ENV);
    await waitFor(() => rolesOf(build.pid).includes("llama-server") || build.exitCode !== null, 120_000, "eval's llama-server");
    expect(build.exitCode, build.output()).toBeNull();
    await killed(build);
    expect(rolesOf(build.pid)).toContain("llama-server");

    const next = spawnSabuild(dir, ["build", "runner:eval"], ENV);
    expect(await exited(next), next.output()).toBe(0);
    expect(next.output()).toMatch(/runner:eval built/);
    expect(rolesOf(build.pid)).toEqual([]);
    expect(rolesOf(next.pid)).toEqual([]);
  }, 180_000);
});
