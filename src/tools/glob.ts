import { posix } from "node:path";
import { z } from "zod";
import { defineTool, ToolFailure } from "./define.js";
import { nulRecords, resolvePath, runScript } from "./exec.js";
import { EXIT, fileProblem } from "./file-errors.js";
import { globToRegex, hasGlobSyntax } from "./glob-pattern.js";
import type { ToolContext } from "./types.js";

export const MAX_GLOB_RESULTS = 100;

// $1 directory, $2 regex over "./relative/path", $3 max depth, then a prune expression.
const FIND_SCRIPT = `root=$1 regex=$2 depth=$3
shift 3
[ -e "$root" ] || exit ${EXIT.missing}
[ -d "$root" ] || exit ${EXIT.notDirectory}
cd -- "$root" || exit ${EXIT.unreadable}
LC_ALL=C find . -maxdepth "$depth" -regextype posix-extended "$@" -type f -regex "$regex" -printf '%T@\\t%P\\0'`;

const schema = z.strictObject({
  pattern: z.string().min(1).describe('The glob pattern to match files against, e.g. "**/*.ts" or "src/**/*.{js,jsx}"'),
  path: z.string().optional().describe("The directory to search in (default: the workspace)"),
});

export const globTool = defineTool({
  name: "Glob",
  description: `Finds files by name pattern, in any size of codebase.

- Patterns: * (within one directory), ** (any depth), ?, [abc], {a,b}; e.g. "**/*.py", "src/**/*.{ts,tsx}", "tests/test_*.py".
- The pattern is relative to path (default: the workspace): "*.py" matches only at its top level, "**/*.py" at any depth.
- Hidden files and directories are skipped unless the pattern names them (e.g. ".github/**/*.yml"); .git and node_modules are skipped unless named.
- Returns absolute paths of matching files, most recently modified first, at most ${MAX_GLOB_RESULTS}.`,
  schema,
  async run(args, ctx) {
    const { root, rest } = splitPattern(resolvePath(ctx, args.path ?? "."), args.pattern);
    const files = await findFiles(ctx, root, rest);
    if (files.length === 0) return "No files found";
    files.sort((a, b) => b.mtime - a.mtime || (a.path < b.path ? -1 : 1));
    const shown = files.slice(0, MAX_GLOB_RESULTS).map((f) => f.path);
    const more = files.length > MAX_GLOB_RESULTS ? `\n(Results are truncated: ${files.length} files matched, showing the ${MAX_GLOB_RESULTS} most recently modified. Consider using a more specific path or pattern.)` : "";
    return shown.join("\n") + more;
  },
});

interface FoundFile {
  path: string;
  mtime: number;
}

/** Moves the pattern's leading literal directories into the search root: "src/**\/*.ts" searches src/. */
export function splitPattern(base: string, pattern: string): { root: string; rest: string } {
  let root = pattern.startsWith("/") ? "/" : base;
  const segments = pattern.replace(/^\/+/, "").split("/").filter((s, i, all) => s !== "" || i === all.length - 1);
  while (segments.length > 1 && !hasGlobSyntax(segments[0]!)) root = posix.join(root, segments.shift()!);
  return { root, rest: segments.join("/").replace(/^(\.\/)+/, "") };
}

async function findFiles(ctx: ToolContext, root: string, pattern: string): Promise<FoundFile[]> {
  const depth = pattern.includes("**") ? 4096 : pattern.split("/").length;
  const result = await runScript(ctx, FIND_SCRIPT, [root, `\\./${globToRegex(pattern)}`, String(depth), ...pruneArgs(pattern)]);
  if (result.exitCode === EXIT.missing) throw new ToolFailure(`Directory does not exist: ${root}`);
  if (result.exitCode === EXIT.notDirectory || result.exitCode === EXIT.unreadable) throw new ToolFailure(fileProblem(result, root));
  // find exits 1 when some directory could not be read; what it found elsewhere still counts.
  if (result.exitCode !== 0 && result.stdout === "") throw new ToolFailure(fileProblem(result, root));
  return nulRecords(result).map((record) => {
    const tab = record.indexOf("\t");
    return { mtime: Number(record.slice(0, tab)), path: posix.join(root, record.slice(tab + 1)) };
  });
}

/** Directories a search skips unless the pattern names them: hidden ones, .git, node_modules. */
export function pruneArgs(pattern: string): string[] {
  const names: string[] = [];
  if (!/(^|[/{,])\./.test(pattern)) names.push(".?*");
  if (!/(^|[/{,])\.git([/},]|$)/.test(pattern)) names.push(".git");
  if (!pattern.includes("node_modules")) names.push("node_modules");
  const tests = names.flatMap((name, i) => (i === 0 ? ["-name", name] : ["-o", "-name", name]));
  return ["(", ...tests, ")", "-prune", "-o"];
}
