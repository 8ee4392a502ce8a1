import { chmod, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Verification } from "../../envs/types.js";
import { costUsd, type Pricing as ModelPricing } from "../../llm/pricing.js";
import type { SandboxImage, SandboxSession } from "../../sandbox/types.js";
import type { McpSubagent } from "../../serve/mcp.js";
import type { Trace, TraceStatus } from "../../traces/types.js";
import { delegate } from "../delegate.js";
import type { OfferedSubagent } from "../subagent.js";
import type { Arm, CliFigures, Delegation, OrchestratorTrace } from "../types.js";
import { readCliReport } from "./report.js";
import { FORWARD_PORT, ITEM_MOUNT, serveItemSockets } from "./sockets.js";

/** Where the Node that runs the in-container bridge is bound (a single read-only file). */
export const NODE_MOUNT = "/opt/sabuild/node";

export interface CliOrchestrateOptions {
  kind: CliFigures["kind"];
  version?: string;
  arm: Arm;
  task: { id: string; prompt: string; tags: string[] };
  sample: number;
  offered: readonly OfferedSubagent[];
  /** The shell line run in the container; it reads the task from $SABUILD_PROMPT. */
  command(mcpConfig: string | undefined): string;
  /** Settings the command reads from its environment (model, turn cap, tools). */
  env: Record<string, string>;
  model: Trace["model"];
  /** The model endpoint the socket proxy forwards to, and its real key (never put in the container). */
  upstream: string;
  apiKey: string;
  /**
   * The benchmark's pricing of the main model, else the CLI's own cost figure (Claude Code prices
   * cache reads and writes as the API bills them; a flat price would not), else sabuild's table.
   */
  pricing?: ModelPricing;
  tablePricing?: ModelPricing;
  image: SandboxImage;
  env_id?: string;
  /** Host paths the CLI needs, bound read-only (its binary, Node for the bridge). */
  mounts: { source: string; target: string }[];
  /** A host scratch folder; each item makes its own short-named folder of sockets in it. */
  workDir: string;
  /** Whole-run limit of the CLI. */
  timeoutMs: number;
  openSandbox(mounts: { source: string; target: string; readOnly: boolean }[]): Promise<SandboxSession>;
  verify?(session: SandboxSession): Promise<Verification>;
  signal?: AbortSignal;
}

/**
 * The main agent played by a CLI (Claude Code, or any command keeping the contract in
 * docs/benchmarks.md) on one task: it runs headless inside the task's container, which keeps no
 * network and reaches only the model endpoint and sabuild's MCP server (sockets.ts); delegations
 * through the MCP tools run the offered subagents in the same container, as the built-in loop's do.
 * The figures come from the CLI's own JSON; the verifier runs when it ends.
 */
export async function orchestrateCli(o: CliOrchestrateOptions): Promise<OrchestratorTrace> {
  const started = new Date();
  const t0 = performance.now();
  const dir = await mkdtemp(join(o.workDir, "c-"));
  // The container's user is not ours: it must reach the sockets and read the bridge.
  await chmod(dir, 0o755);
  const delegations: Delegation[] = [];
  const session = await o.openSandbox([...o.mounts.map((m) => ({ ...m, readOnly: true })), { source: dir, target: ITEM_MOUNT, readOnly: true }]);
  try {
    // The item's delegations are numbered in the order they are asked, as the built-in Agent tool numbers them.
    const next = { item: `${o.task.id}.s${o.sample}`, index: 0 };
    const subagents: McpSubagent[] = o.arm === "none" ? [] : o.offered.map((sub) => mcpSubagent(sub, session, next, (d) => delegations.push(d)));
    const sockets = await serveItemSockets({ dir, upstream: o.upstream, apiKey: o.apiKey, subagents });
    let ran;
    try {
      const ready = "/tmp/.sabuild-forward.ready";
      const script = [
        `${NODE_MOUNT} ${ITEM_MOUNT}/bridge.mjs tcp ${FORWARD_PORT} ${ITEM_MOUNT}/model.sock ${ready} &`,
        `while [ ! -e ${ready} ]; do sleep 0.05; done`,
        o.command(sockets.mcpConfig),
        "rc=$?; kill $! 2>/dev/null; exit $rc",
      ].join("\n");
      ran = await session.exec(["sh", "-c", script], {
        env: {
          ...o.env,
          SABUILD_PROMPT: o.task.prompt,
          SABUILD_MODEL_BASE_URL: sockets.baseUrl,
          ...(sockets.mcpConfig ? { SABUILD_MCP_CONFIG: sockets.mcpConfig } : {}),
          // Both clients' conventions; the key is a placeholder the host's proxy replaces.
          ANTHROPIC_BASE_URL: sockets.baseUrl,
          ANTHROPIC_API_KEY: "sabuild-proxy",
          OPENAI_BASE_URL: sockets.baseUrl,
          OPENAI_API_KEY: "sabuild-proxy",
          HOME: "/tmp/sabuild-home",
          // Task images may run as root (SWE-bench's do), where Claude Code refuses bypassPermissions
          // unless told it is in a sandbox: it is (no network, no capabilities, no secret).
          IS_SANDBOX: "1",
          DISABLE_TELEMETRY: "1",
          DISABLE_AUTOUPDATER: "1",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          // A delegation may take as long as the whole run (a student on a CPU); 75 s ones passed without it on 2.1.332.
          MCP_TOOL_TIMEOUT: String(o.timeoutMs),
        },
        timeoutMs: o.timeoutMs,
        outputLimitBytes: 64 * 1024 * 1024,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } finally {
      await sockets.close();
    }
    const report = readCliReport(ran.stdout);
    const verification = o.verify ? await o.verify(session) : undefined;
    const why = (text: string): string => `${o.kind} ${text} (exit code ${ran.exitCode}${ran.timedOut ? ", timed out" : ""})${ran.stderr.trim() ? `: ${ran.stderr.trim().slice(-2000)}` : ""}`;
    const base = {
      version: 1 as const,
      subagent: "orchestrator",
      task: o.task,
      sample: o.sample,
      model: o.model,
      tools: [],
      tool_errors: 0,
      timings: { started_at: started.toISOString(), duration_ms: Math.round(performance.now() - t0), model_ms: report.ok ? (report.value.duration_api_ms ?? 0) : 0, tool_ms: 0 },
      sandbox: { recipe: o.image.recipe, id: o.image.id, tag: o.image.tag, ...(o.env_id ? { env: o.env_id } : {}) },
      ...(verification ? { verification } : {}),
      arm: o.arm,
      delegations,
    };
    if (!report.ok) {
      return {
        ...base,
        status: "error",
        error: why(report.error),
        contract: { tag: "", ok: false },
        messages: [{ role: "user", content: o.task.prompt }],
        turns: 0,
        tool_calls: 0,
        usage: { prompt_tokens: 0, completion_tokens: 0, requests: 0, cached_requests: 0, cost_usd: 0 },
        cli: { kind: o.kind, ...(o.version ? { version: o.version } : {}), tool_calls_by_tool: {}, exit_code: ran.exitCode },
      };
    }
    const r = report.value;
    const prompt = r.usage.input_tokens + r.usage.cache_creation_input_tokens + r.usage.cache_read_input_tokens;
    const completion = r.usage.output_tokens;
    const status: TraceStatus = r.subtype === "error_max_turns" ? "turn_cap" : r.is_error || ran.exitCode !== 0 ? "error" : "completed";
    return {
      ...base,
      status,
      ...(status === "error" ? { error: why(r.subtype ?? "reported an error") } : {}),
      ...(r.result !== undefined ? { final_answer: r.result } : {}),
      contract: { tag: "", ok: status === "completed" },
      messages: [{ role: "user", content: o.task.prompt }, ...r.messages],
      turns: r.num_turns ?? r.model_calls ?? 0,
      tool_calls: Object.values(r.tool_calls_by_tool).reduce((a, b) => a + b, 0),
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        requests: r.model_calls ?? 0,
        cached_requests: 0,
        cost_usd: o.pricing ? costUsd(o.pricing, prompt, completion) : (r.total_cost_usd ?? costUsd(o.tablePricing, prompt, completion)),
      },
      cli: {
        kind: o.kind,
        ...(o.version ? { version: o.version } : {}),
        tool_calls_by_tool: r.tool_calls_by_tool,
        ...(r.num_turns !== undefined ? { num_turns: r.num_turns } : {}),
        ...(r.total_cost_usd !== undefined ? { total_cost_usd: r.total_cost_usd } : {}),
        ...(r.model_usage ? { model_usage: r.model_usage } : {}),
        exit_code: ran.exitCode,
      },
    };
  } finally {
    await session.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** An offered subagent as sabuild's MCP server offers it to the CLI: the same delegation as the built-in Agent tool's. */
function mcpSubagent(sub: OfferedSubagent, session: SandboxSession, next: { item: string; index: number }, record: (d: Delegation) => void): McpSubagent {
  return {
    name: sub.name,
    description: sub.description,
    // The same words in every arm: the orchestrator must not learn who plays the subagent.
    about: "Runs this subagent in your workspace (it sees your edits) and returns only its final answer; give it a complete, self-contained prompt.",
    async run(prompt, signal) {
      const d = await delegate(sub, "", prompt, session, { item: next.item, index: next.index++ }, signal);
      record(d);
      return { answer: d.answer, answeredBy: "subagent", status: d.trace.status, turns: d.trace.turns, toolCalls: d.trace.tool_calls };
    },
  };
}
