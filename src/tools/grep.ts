import { posix } from "node:path";
import { z } from "zod";
import { defineTool, ToolFailure } from "./define.js";
import { nulRecords, resolvePath, runScript } from "./exec.js";
import { EXIT } from "./file-errors.js";
import { grepFileFilter } from "./grep-filter.js";
import { toExtendedRegex } from "./grep-regex.js";

export const MAX_GREP_CHARS = 30_000;
export const MAX_GREP_LINE_CHARS = 500;

// $1 path, $2 PCRE pattern, $3 the same as POSIX ERE, $4 "stat" to print files with their mtimes,
// $5 how many find arguments follow, then find's arguments, then grep's options.
// GNU grep's -P (PCRE, close to ripgrep's syntax) is used where the image's grep has it; -E otherwise.
// Byte-wise matching (C locale): in a UTF-8 locale, grep -I silently drops the lines of files that
// are not valid UTF-8 (Latin-1 sources, say) while still listing them as matching.
const GREP_SCRIPT = `root=$1 withstat=$4 nfind=$5
export LC_ALL=C
if grep -qP '' /dev/null 2>/dev/null; [ $? -eq 1 ]; then flavor=-P pat=$2; else flavor=-E pat=$3; fi
shift 5
find_args=("\${@:1:nfind}")
shift "$nfind"
err=$(grep "$flavor" -e "$pat" -- /dev/null 2>&1)
if [ $? -eq 2 ]; then printf 'invalid regular expression (grep %s): %s\\n' "$flavor" "\${err#grep: }" >&2; exit 2; fi
withtimes() { if [ "$withstat" = stat ]; then xargs -0 -r stat -L --printf '%.9Y\\t%n\\0' --; else cat; fi; }
if [ -d "$root" ]; then
  cd -- "$root" || exit ${EXIT.unreadable}
  LC_ALL=C find . "\${find_args[@]}" -print0 | xargs -0 -r grep "$flavor" "$@" -e "$pat" -- | withtimes
elif [ -e "$root" ]; then
  grep "$flavor" "$@" -e "$pat" -- "$root" | withtimes
else
  exit ${EXIT.missing}
fi
exit 0`;

const schema = z.strictObject({
  pattern: z.string().min(1).describe("The regular expression to search for in file contents"),
  path: z.string().optional().describe("File or directory to search in (default: the workspace)"),
  glob: z.string().optional().describe('Glob pattern to filter files (e.g. "*.js", "*.{ts,tsx}", "src/**/*.py"); a leading ! excludes'),
  output_mode: z
    .enum(["content", "files_with_matches", "count"])
    .default("files_with_matches")
    .describe('Output mode: "content" shows matching lines (supports -A/-B/-C context, -n, head_limit), "files_with_matches" shows file paths (supports head_limit), "count" shows match counts (supports head_limit). Defaults to "files_with_matches"'),
  "-B": z.number().int().nonnegative().optional().describe('Number of lines to show before each match. Requires output_mode: "content"'),
  "-A": z.number().int().nonnegative().optional().describe('Number of lines to show after each match. Requires output_mode: "content"'),
  "-C": z.number().int().nonnegative().optional().describe('Number of lines to show before and after each match. Requires output_mode: "content"'),
  "-n": z.boolean().default(true).describe('Show line numbers in output. Requires output_mode: "content". Defaults to true'),
  "-i": z.boolean().default(false).describe("Case insensitive search"),
  type: z.string().optional().describe("File type to search, e.g. py, js, ts, go, rust, java. Narrower than glob for standard types"),
  head_limit: z.number().int().positive().optional().describe("Limit output to the first N lines or entries, like | head -N"),
  multiline: z.boolean().default(false).describe("Not supported here: patterns match within one line. Leave it false"),
});

type GrepArgs = z.output<typeof schema>;

export const grepTool = defineTool({
  name: "Grep",
  description: `Searches file contents with a regular expression.

- Syntax is Perl-compatible (as GNU grep -P): \\d, \\w, \\s, \\b, (?:...), non-greedy *?, lookarounds. Escape literal braces and parentheses, e.g. "interface\\{\\}" or "foo\\(".
- Matches are found within one line; patterns spanning lines are not supported.
- Filter files with glob (e.g. "*.js", "**/*.{ts,tsx}") or type (e.g. "py", "js", "ts", "go", "rust").
- output_mode: "files_with_matches" (default) lists matching files, most recently modified first; "content" shows matching lines with -n line numbers and -A/-B/-C context; "count" shows matches per file.
- Binary files, .git and node_modules are skipped. Paths in results are absolute.
- Use it instead of running grep or rg through Bash.`,
  schema,
  async run(args, ctx) {
    if (args.multiline) throw new ToolFailure("multiline is not supported: this Grep matches within one line. Search for one line of the text, or use Bash (e.g. grep -Pzo) for a pattern across lines.");
    if (/[\r\n]/.test(args.pattern)) throw new ToolFailure("The pattern holds a line break; it matches within one line. Use \\s or search for one line of the text.");
    const root = resolvePath(ctx, args.path ?? ".");
    const findArgs = grepFileFilter(args.glob, args.type, args.path ?? "");
    const result = await runScript(ctx, GREP_SCRIPT, [
      root,
      args.pattern,
      toExtendedRegex(args.pattern),
      args.output_mode === "files_with_matches" ? "stat" : "",
      String(findArgs.length),
      ...findArgs,
      ...grepOptions(args),
    ]);
    if (result.exitCode === EXIT.missing) throw new ToolFailure(`Path does not exist: ${root}`);
    if (result.exitCode !== 0) throw new ToolFailure(result.stderr.trim() || `grep failed (exit code ${result.exitCode ?? "none"}${result.timedOut ? ", timed out" : ""})`);
    const shown = (path: string): string => (path.startsWith("./") ? posix.join(root, path) : path);
    const output =
      args.output_mode === "files_with_matches" ? filesWithMatches(result.stdout === "" ? [] : nulRecords(result), shown, args.head_limit)
      : args.output_mode === "count" ? counts(result.stdout, shown, args.head_limit)
      : content(result.stdout, shown, args);
    return capOutput(output) + (result.truncated ? "\n(The search produced more output than the sandbox returns; narrow the path, glob or pattern.)" : "");
  },
});

function grepOptions(args: GrepArgs): string[] {
  const options = ["-I", "-s"];
  if (args["-i"]) options.push("-i");
  if (args.output_mode === "files_with_matches") options.push("-l", "-Z");
  else if (args.output_mode === "count") options.push("-c", "-H", "-Z");
  else {
    // Always numbered: the number's separator (: or -) tells a match from a context line.
    options.push("-n", "-H", "-Z");
    if (args["-C"] !== undefined) options.push("-C", String(args["-C"]));
    if (args["-A"] !== undefined) options.push("-A", String(args["-A"]));
    if (args["-B"] !== undefined) options.push("-B", String(args["-B"]));
  }
  return options;
}

function filesWithMatches(records: string[], shown: (p: string) => string, limit: number | undefined): string {
  const files = records.map((record) => {
    const tab = record.indexOf("\t");
    return { mtime: Number(record.slice(0, tab)), path: shown(record.slice(tab + 1)) };
  });
  if (files.length === 0) return "No files found";
  files.sort((a, b) => b.mtime - a.mtime || (a.path < b.path ? -1 : 1));
  const listed = files.slice(0, limit).map((f) => f.path);
  return `Found ${files.length} file${files.length === 1 ? "" : "s"}${listed.length < files.length ? ` (showing ${listed.length})` : ""}\n${listed.join("\n")}`;
}

function counts(stdout: string, shown: (p: string) => string, limit: number | undefined): string {
  const rows = stdout
    .split("\n")
    .filter((line) => line.includes("\0"))
    .map((line) => {
      const nul = line.indexOf("\0");
      return { path: shown(line.slice(0, nul)), count: Number(line.slice(nul + 1)) };
    })
    .filter((row) => row.count > 0)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (rows.length === 0) return "No matches found";
  const total = rows.reduce((sum, row) => sum + row.count, 0);
  const listed = rows.slice(0, limit).map((row) => `${row.path}:${row.count}`);
  return `${listed.join("\n")}\n\nFound ${total} matching line${total === 1 ? "" : "s"} across ${rows.length} file${rows.length === 1 ? "" : "s"}.`;
}

/** Matching lines as ripgrep prints them: path:line:text for matches, path-line-text for context. */
function content(stdout: string, shown: (p: string) => string, args: GrepArgs): string {
  const byFile = new Map<string, string[]>();
  const context = (args["-C"] ?? 0) + (args["-A"] ?? 0) + (args["-B"] ?? 0) > 0;
  let last: string[] | undefined;
  for (const line of stdout.split("\n")) {
    if (line === "--") {
      last?.push("--");
      continue;
    }
    const nul = line.indexOf("\0");
    const m = nul < 0 ? null : /^(\d+)([:-])(.*)$/s.exec(line.slice(nul + 1));
    if (!m) continue;
    const raw = line.slice(0, nul);
    const path = shown(raw);
    last = byFile.get(path);
    if (!last) byFile.set(path, (last = []));
    const [, number, sep, text] = m;
    const cut = text!.length > MAX_GREP_LINE_CHARS ? `${text!.slice(0, MAX_GREP_LINE_CHARS)}… [line cut]` : text;
    // Like ripgrep, a search of one file does not repeat its name on every line.
    const singleFile = !raw.startsWith("./");
    const prefix = (singleFile ? "" : `${path}${sep}`) + (args["-n"] ? `${number}${sep}` : "");
    last.push(prefix + cut);
  }
  const lines: string[] = [];
  for (const path of [...byFile.keys()].sort()) {
    const own = byFile.get(path)!;
    while (own.at(-1) === "--") own.pop();
    if (lines.length > 0 && context) lines.push("--");
    lines.push(...own);
  }
  if (lines.length === 0) return "No matches found";
  return lines.slice(0, args.head_limit).join("\n");
}

function capOutput(text: string): string {
  if (text.length <= MAX_GREP_CHARS) return text;
  const cut = text.lastIndexOf("\n", MAX_GREP_CHARS);
  return `${text.slice(0, cut > 0 ? cut : MAX_GREP_CHARS)}\n(Output cut at ${MAX_GREP_CHARS} characters; narrow the search or use head_limit.)`;
}
