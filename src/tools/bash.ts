import { z } from "zod";
import type { ExecResult } from "../sandbox/types.js";
import { defineTool, failure, success } from "./define.js";
import { rejectNul } from "./exec.js";

export const MAX_BASH_TIMEOUT_MS = 600_000;

/** Where the shell's working directory is kept between calls, inside the container. */
const CWD_FILE = "/tmp/.sabuild-bash-cwd";

// Each call is a fresh `bash -lc`; like Claude Code's shell, the working directory carries over
// to the next call (a `cd` persists), while variables and functions do not. A login shell reads
// /etc/profile, which on Debian resets PATH: the image's PATH (a venv's bin, say) is put back in
// front of what the profile adds.
const WRAPPER = `if [ -n "\${SABUILD_IMAGE_PATH:-}" ]; then
  __p=$SABUILD_IMAGE_PATH
  IFS=: read -ra __dirs <<< "$PATH"
  for __d in "\${__dirs[@]}"; do case ":$__p:" in *":$__d:"*) ;; *) __p=$__p:$__d ;; esac; done
  PATH=$__p
  unset SABUILD_IMAGE_PATH __p __d __dirs
fi
if [ -f ${CWD_FILE} ]; then cd -- "$(cat ${CWD_FILE})" 2>/dev/null; fi
trap 'pwd > ${CWD_FILE} 2>/dev/null' EXIT
__sabuild_command=$1
shift
eval "$__sabuild_command"`;

/** Hands the image's PATH to the login shell, which would otherwise lose it. */
const LAUNCH = 'SABUILD_IMAGE_PATH=$PATH exec bash -lc "$1" bash "$2"';

const schema = z.strictObject({
  command: z.string().describe("The command to execute"),
  timeout: z.number().positive().optional().describe(`Optional timeout in milliseconds (max ${MAX_BASH_TIMEOUT_MS})`),
  description: z
    .string()
    .optional()
    .describe("Clear, concise description of what this command does in 5-10 words, e.g. 'Run the unit tests'"),
});

export const bashTool = defineTool({
  name: "Bash",
  description: `Executes a bash command in the workspace and returns its output.

- The working directory persists between commands (a \`cd\` carries over); environment variables and shell functions do not.
- Always quote paths that contain spaces with double quotes.
- Optional timeout in milliseconds, up to ${MAX_BASH_TIMEOUT_MS}; without one the sandbox's default limit applies.
- Output beyond the sandbox's limit is cut with a visible marker.
- Prefer the Glob, Grep, Read, Edit and Write tools over find, grep, cat, sed and echo redirection for searching, reading and editing files.
- Chain dependent commands with && or ;. Do not use newlines to separate commands (newlines inside quoted strings are fine).`,
  schema,
  async run(args, ctx) {
    if (args.command.trim() === "") return failure("The command is empty.");
    rejectNul([args.command]);
    const timeoutMs = args.timeout === undefined ? undefined : Math.min(Math.round(args.timeout), MAX_BASH_TIMEOUT_MS);
    const result = await ctx.sandbox.exec(["bash", "-c", LAUNCH, "bash", WRAPPER, args.command], {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const output = joinOutput(result);
    if (result.timedOut) {
      const limit = timeoutMs ?? ctx.sandbox.image.limits.commandTimeoutMs;
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
