import { z } from "zod";
import type { ExecResult } from "../sandbox/types.js";
import { startShell } from "./background.js";
import { defineTool, failure, success } from "./define.js";
import { rejectNul } from "./exec.js";
import { shellArgv } from "./shell.js";

export const MAX_BASH_TIMEOUT_MS = 600_000;

const schema = z.strictObject({
  command: z.string().describe("The command to execute"),
  timeout: z.number().positive().optional().describe(`Optional timeout in milliseconds (max ${MAX_BASH_TIMEOUT_MS})`),
  description: z
    .string()
    .optional()
    .describe("Clear, concise description of what this command does in 5-10 words, e.g. 'Run the unit tests'"),
  run_in_background: z.boolean().optional().describe("Set to true to run this command in the background. Use BashOutput to read the output later."),
});

export const bashTool = defineTool({
  name: "Bash",
  description: `Executes a bash command in the workspace and returns its output.

- The working directory persists between commands (a \`cd\` carries over); environment variables and shell functions do not.
- Always quote paths that contain spaces with double quotes.
- Optional timeout in milliseconds, up to ${MAX_BASH_TIMEOUT_MS}; without one the sandbox's default limit applies.
- Output beyond the sandbox's limit is cut with a visible marker.
- Prefer the Glob, Grep, Read, Edit and Write tools over find, grep, cat, sed and echo redirection for searching, reading and editing files.
- Chain dependent commands with && or ;. Do not use newlines to separate commands (newlines inside quoted strings are fine).
- run_in_background: true starts the command and returns its shell ID at once (no timeout applies); read its new output with BashOutput and stop it with KillShell. Do not add '&' to the command.`,
  schema,
  async run(args, ctx) {
    if (args.command.trim() === "") return failure("The command is empty.");
    rejectNul([args.command]);
    if (args.run_in_background) return `Command running in background with ID: ${await startShell(ctx, args.command)}`;
    const timeoutMs = args.timeout === undefined ? undefined : Math.min(Math.round(args.timeout), MAX_BASH_TIMEOUT_MS);
    const result = await ctx.sandbox.exec(shellArgv(args.command, { keepCwd: true }), {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const output = joinOutput(result);
    if (result.timedOut) {
      const limit = timeoutMs ?? ctx.sandbox.limits.commandTimeoutMs;
      return failure(`Command timed out after ${formatMs(limit)}${output ? `\n${output}` : ""}`);
    }
    if (result.oomKilled) return failure(`Command was killed: the sandbox ran out of memory${output ? `\n${output}` : ""}`);
    if (result.exitCode === null) return failure(`Command was killed before it finished${output ? `\n${output}` : ""}`);
    // A non-zero exit is a normal result (a failing test run), not a misuse of the tool.
    const status = result.exitCode === 0 ? "" : `Exit code ${result.exitCode}`;
    return success([output, status].filter(Boolean).join("\n") || "(no output)");
  },
});

function joinOutput(result: ExecResult): string {
  return [result.stdout.replace(/\n+$/, ""), result.stderr.replace(/\n+$/, "")].filter(Boolean).join("\n");
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms} ms`;
}
