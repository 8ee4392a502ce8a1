import { z } from "zod";
import { killShell, knownShell, readShell } from "./background.js";
import { defineTool, ToolFailure } from "./define.js";

const outputSchema = z.strictObject({
  bash_id: z.string().min(1).describe("The ID of the background shell to retrieve output from"),
  filter: z
    .string()
    .optional()
    .describe("Optional regular expression to filter the output lines. Only lines matching this regex are included in the result. Any lines that do not match are no longer available to read."),
});

/**
 * Claude Code's BashOutput: the output a background shell wrote since the last read, as tagged
 * sections (`<status>`, `<exit_code>` once it ended, `<stdout>`, `<stderr>`, `<timestamp>`).
 */
export const bashOutputTool = defineTool({
  name: "BashOutput",
  description: `Retrieves output from a running or completed background bash shell.

- Takes the shell ID that Bash returned for a command run with run_in_background.
- Always returns only new output since the last check, with the shell's status (running, completed, failed or killed) and its exit code once it ended.
- filter is a regular expression: only the new lines that match it are shown; the others are consumed and cannot be read again.
- Each stream of a background shell keeps at most the sandbox's output limit; output past it is discarded, with a note.`,
  schema: outputSchema,
  async run(args, ctx) {
    const pattern = args.filter === undefined ? undefined : compileFilter(args.filter);
    const shell = knownShell(ctx, args.bash_id);
    const out = await readShell(ctx, shell);
    const sections = [`<status>${out.status}</status>`];
    if (out.exitCode !== undefined) sections.push(`<exit_code>${out.exitCode}</exit_code>`);
    for (const [tag, text] of [["stdout", out.stdout], ["stderr", out.stderr]] as const) {
      const shown = pattern ? keepMatching(text, pattern) : text.replace(/\n+$/, "");
      if (shown.trim() !== "") sections.push(`<${tag}>\n${shown}\n</${tag}>`);
    }
    sections.push(`<timestamp>${new Date().toISOString()}</timestamp>`);
    return sections.join("\n\n");
  },
});

const killSchema = z.strictObject({
  shell_id: z.string().min(1).describe("The ID of the background shell to kill"),
});

/** Claude Code's KillShell (KillBash in early releases): its success content is a small JSON object. */
export const killShellTool = defineTool({
  name: "KillShell",
  description: `Kills a running background bash shell by its ID.

- Takes the shell ID that Bash returned for a command run with run_in_background.
- Every process the command started is killed; output written before the kill can still be read with BashOutput.
- A shell that already ended cannot be killed; the error gives its status.`,
  schema: killSchema,
  async run(args, ctx) {
    const shell = knownShell(ctx, args.shell_id);
    const outcome = await killShell(ctx, shell);
    if (!outcome.killed) return { content: `Shell ${shell.id} is not running, so cannot be killed (status: ${outcome.status})`, isError: true };
    return JSON.stringify({ message: `Successfully killed shell: ${shell.id} (${shell.command})`, shell_id: shell.id });
  },
});

function compileFilter(filter: string): RegExp {
  try {
    return new RegExp(filter);
  } catch (e) {
    throw new ToolFailure(`Invalid regular expression in filter: ${(e as Error).message}`);
  }
}

function keepMatching(text: string, pattern: RegExp): string {
  return text
    .split("\n")
    .filter((line) => line !== "" && pattern.test(line))
    .join("\n");
}
