import { realpathSync } from "node:fs";
import type { ResolvedBenchmark } from "../config/benchmark-schema.js";
import { DEFAULT_ENV_ID, type Verification } from "../envs/types.js";
import { builtinPricing } from "../llm/pricing.js";
import type { SandboxImage, SandboxSession } from "../sandbox/types.js";
import type { OrchestratorTrace } from "../bench/types.js";
import type { CliEndpoint } from "../bench/cli/endpoint.js";
import type { ArmPlayers } from "./bench-players.js";
import type { BenchItemInput } from "./bench-run.js";
import type { RunHooks } from "../engine/types.js";
import type { ProjectContext } from "./types.js";

/** Where Claude Code's binary is bound in the container. */
const CLAUDE_MOUNT = "/opt/sabuild/claude";

export interface CliRunner {
  run(input: BenchItemInput, image: SandboxImage, arm: ArmPlayers, item: { signal: AbortSignal; verify?: (s: SandboxSession) => Promise<Verification> }): Promise<OrchestratorTrace>;
  close(): Promise<void>;
}

/**
 * Runs a benchmark's items with a CLI as the main agent (orchestrator.kind claude-code or
 * command). What items share starts on first use: the model endpoint (or its stand-in) and,
 * for Claude Code, its package in the user cache.
 */
export function cliRunner(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark, work: () => Promise<string>): CliRunner {
  const o = b.orchestrator;
  let endpoint: Promise<CliEndpoint> | undefined;
  let binary: Promise<string> | undefined;
  return {
    async run(input, image, arm, item) {
      const { openCliEndpoint } = await import("../bench/cli/endpoint.js");
      const { orchestrateCli, NODE_MOUNT } = await import("../bench/cli/orchestrate.js");
      const { claudeCodeCommand, claudeCodeBinary } = await import("../bench/cli/claude-code.js");
      const e = await (endpoint ??= openCliEndpoint(ctx.project, b, ctx.log));
      // The Node running sabuild runs the in-container bridge: one file, bound read-only.
      const mounts = [{ source: realpathSync(process.execPath), target: NODE_MOUNT }];
      let command: (mcp: string | undefined) => string;
      if (o.kind === "claude-code") {
        mounts.push({ source: await (binary ??= claudeCodeBinary(o.claude_code_version, { log: ctx.log, signal: item.signal })), target: CLAUDE_MOUNT });
        command = (mcpConfig) =>
          claudeCodeCommand(CLAUDE_MOUNT, { model: o.model, maxTurns: o.max_turns, tools: o.tools, ...(mcpConfig ? { mcpConfig } : {}), ...(o.instructions ? { instructions: o.instructions } : {}) });
      } else {
        const line = o.command ?? "";
        command = () => line;
      }
      const table = builtinPricing(o.model);
      return orchestrateCli({
        kind: o.kind === "claude-code" ? "claude-code" : "command",
        ...(o.kind === "claude-code" ? { version: o.claude_code_version } : {}),
        arm: input.arm,
        task: input.task,
        sample: input.sample,
        offered: arm.offered,
        command,
        env: { SABUILD_MODEL: o.model, SABUILD_MAX_TURNS: String(o.max_turns), SABUILD_TOOLS: o.tools.join(",") },
        model: { name: o.model, base_url: e.identity, role: "orchestrator" },
        upstream: e.upstream,
        apiKey: e.apiKey,
        ...(o.pricing ? { pricing: o.pricing } : {}),
        ...(table ? { tablePricing: table } : {}),
        image,
        ...(input.env.id !== DEFAULT_ENV_ID ? { env_id: input.env.id } : {}),
        mounts,
        workDir: await work(),
        timeoutMs: o.timeout_s * 1000,
        openSandbox: (binds) => arm.openSandbox(image, item.signal, binds),
        ...(item.verify ? { verify: item.verify } : {}),
        signal: item.signal,
      });
    },
    async close() {
      // An endpoint that failed to open has nothing to close (its items already failed saying why).
      if (endpoint) await (await endpoint.catch(() => undefined))?.close();
    },
  };
}
