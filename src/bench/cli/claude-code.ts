import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { shellQuote } from "../../sandbox/shell.js";
import { runChecked } from "../../toolchain/process.js";
import { userCacheDir } from "../../toolchain/dirs.js";

/**
 * Claude Code as a benchmark's main agent. The npm package `@anthropic-ai/claude-code` ships
 * its CLI as one native Linux binary in a per-platform package; it is installed once per
 * version into the user cache and bound read-only into each task's container, where it runs.
 */

const PACKAGE = "@anthropic-ai/claude-code";

/** The Linux binary of that version (the containers are Linux whatever the host is), installed into the cache on first use. */
export async function claudeCodeBinary(version: string, opts: { log?: (line: string) => void; signal?: AbortSignal } = {}): Promise<string> {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const root = join(userCacheDir(), "claude-code", version);
  const binary = join(root, "node_modules", "@anthropic-ai", `claude-code-linux-${arch}`, "claude");
  if (existsSync(binary)) return binary;
  await mkdir(dirname(root), { recursive: true });
  const work = await mkdtemp(join(dirname(root), `.install-${version}-`));
  try {
    opts.log?.(`claude-code: installing ${PACKAGE}@${version} into ${root} (once per version)`);
    // No install scripts: the platform package's binary is all we run, and nothing runs on the host.
    const platform = process.platform === "linux" ? [] : ["--os=linux", `--cpu=${arch}`];
    await runChecked(`npm install ${PACKAGE}@${version}`, npmCommand(), ["install", "--prefix", work, "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", ...platform, `${PACKAGE}@${version}`], {
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!existsSync(join(work, "node_modules", "@anthropic-ai", `claude-code-linux-${arch}`, "claude"))) {
      throw new Error(`${PACKAGE}@${version} has no claude-code-linux-${arch} binary: its layout changed`);
    }
    // Another build may have finished the same version first; theirs is as good as ours.
    await rename(work, root).catch((e: NodeJS.ErrnoException) => {
      if (!existsSync(binary)) throw e;
    });
    return binary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The npm next to the Node running sabuild (a project-local Node brings its own), else the one on PATH. */
function npmCommand(): string {
  const beside = join(dirname(process.execPath), "npm");
  return existsSync(beside) ? beside : "npm";
}

export interface ClaudeCodeArgs {
  model: string;
  maxTurns: number;
  /** Its own built-in tools (Bash, Read, Edit, ...): its Task tool is left out, delegation goes through sabuild's MCP server. */
  tools: readonly string[];
  mcpConfig?: string;
  instructions?: string;
}

/**
 * `claude -p` headless as a shell line, streaming its messages (the tool calls) and ending with
 * the JSON result; permissions bypassed, which is safe only because the container has no
 * network and no secret. The prompt is read from $SABUILD_PROMPT by the shell: no quoting of
 * the task's text, and it stays out of the command line sabuild logs.
 */
export function claudeCodeCommand(binary: string, a: ClaudeCodeArgs): string {
  const args = [
    "--output-format",
    "stream-json",
    "--verbose",
    "--model",
    a.model,
    "--max-turns",
    String(a.maxTurns),
    "--permission-mode",
    "bypassPermissions",
    "--tools",
    a.tools.join(","),
    "--strict-mcp-config",
    ...(a.mcpConfig ? ["--mcp-config", a.mcpConfig] : []),
    ...(a.instructions ? ["--append-system-prompt", a.instructions] : []),
  ];
  return [shellQuote(binary), "-p", '"$SABUILD_PROMPT"', ...args.map(shellQuote)].join(" ");
}
