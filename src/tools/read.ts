import { z } from "zod";
import { defineTool, ToolFailure } from "./define.js";
import { resolvePath, runScript } from "./exec.js";
import { fileProblem } from "./file-errors.js";
import { numberLines } from "./lines.js";
import { sessionState } from "./state.js";

export const DEFAULT_READ_LINES = 2000;
export const MAX_LINE_CHARS = 2000;
/** About 25k tokens: a larger answer would crowd out the rest of a small model's context. */
export const MAX_READ_CHARS = 100_000;

// Prints a header line "<NUL bytes in the first 8 KiB> <lines> <mtime>", then the requested lines,
// each cut to 8000 bytes (at least 2000 characters of UTF-8) so one huge line cannot flood the output.
const READ_SCRIPT = `f=$1
[ -e "$f" ] || exit 3
[ -d "$f" ] && exit 4
[ -r "$f" ] || exit 5
nul=$(head -c 8192 -- "$f" | tr -d -c '\\000' | wc -c)
lines=$(wc -l < "$f")
if [ -s "$f" ] && [ "$(tail -c 1 -- "$f" | wc -l)" -eq 0 ]; then lines=$((lines + 1)); fi
printf '%s %s %s\\n' "$nul" "$lines" "$(stat -L -c %.9Y -- "$f")"
sed -n "$2,$3p;$3q" -- "$f" | cut -b 1-8000`;

const schema = z.strictObject({
  file_path: z.string().min(1).describe("The absolute path to the file to read (relative paths resolve against the workspace)"),
  offset: z.number().int().nonnegative().optional().describe("The line number to start reading from. Only provide if the file is too large to read at once"),
  limit: z.number().int().positive().optional().describe("The number of lines to read. Only provide if the file is too large to read at once"),
});

export const readTool = defineTool({
  name: "Read",
  description: `Reads a file from the workspace.

- file_path should be an absolute path; a relative path resolves against the workspace directory.
- By default it reads up to ${DEFAULT_READ_LINES} lines from the start of the file; offset (a 1-based line number) and limit read a part of a long file.
- Lines longer than ${MAX_LINE_CHARS} characters are cut.
- Results are numbered like \`cat -n\`: the line number, a tab, then the line.
- It reads text files only; it cannot list directories (use LS or Glob) and reports binary files as errors.
- Read a file before editing or overwriting it with Edit, MultiEdit or Write.`,
  schema,
  async run(args, ctx) {
    const path = resolvePath(ctx, args.file_path);
    const first = Math.max(1, args.offset ?? 1);
    const last = first + (args.limit ?? DEFAULT_READ_LINES) - 1;
    const result = await runScript(ctx, READ_SCRIPT, [path, String(first), String(last)]);
    if (result.exitCode !== 0) throw new ToolFailure(fileProblem(result, path));

    const newline = result.stdout.indexOf("\n");
    const [nul, total, mtime] = result.stdout.slice(0, newline).split(" ");
    const lineCount = Number(total);
    if (Number(nul) > 0) {
      throw new ToolFailure(`${path} is a binary file; Read shows text files only. Inspect it with Bash instead (e.g. \`file\`, \`od -c | head\`).`);
    }
    sessionState(ctx.sandbox).seen.set(path, mtime ?? "");
    if (lineCount === 0) return "<system-reminder>Warning: the file exists but the contents are empty.</system-reminder>";
    if (first > lineCount) {
      return `<system-reminder>Warning: the file exists but is shorter than the provided offset (${first}). The file has ${lineCount} lines.</system-reminder>`;
    }

    let body = result.stdout.slice(newline + 1);
    if (body.endsWith("\n")) body = body.slice(0, -1);
    const lines = body.split("\n").map((line) => line.replace(/\r$/, ""));
    const shown = numberLines(lines, first, MAX_LINE_CHARS);
    if (shown.length > MAX_READ_CHARS) {
      throw new ToolFailure(
        `The requested lines of ${path} hold ${shown.length} characters, more than the ${MAX_READ_CHARS} Read returns at once. Use offset and limit to read a smaller part, or Grep to find the lines you need.`,
      );
    }
    const end = first + lines.length - 1;
    const rest = end < lineCount ? `\n\n(Showing lines ${first}-${end} of ${lineCount}. Use offset and limit to read more.)` : "";
    return shown + rest;
  },
});
