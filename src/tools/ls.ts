import { z } from "zod";
import { defineTool, ToolFailure } from "./define.js";
import { nulRecords, resolvePath, runScript } from "./exec.js";
import { EXIT, fileProblem } from "./file-errors.js";
import { globToRegex } from "./glob-pattern.js";

export const MAX_LS_ENTRIES = 1000;

// $1 directory, $2 how many entries to list at most, then find arguments that prune what is ignored.
// Prints "<type>\t<relative path>\0" per entry (d for directories), depth first.
const LS_SCRIPT = `root=$1 max=$2
shift 2
[ -e "$root" ] || exit ${EXIT.missing}
[ -d "$root" ] || exit ${EXIT.notDirectory}
cd -- "$root" || exit ${EXIT.unreadable}
LC_ALL=C find . -mindepth 1 -regextype posix-extended "$@" -printf '%y\\t%P\\0' | head -z -n "$max"`;

const schema = z.strictObject({
  path: z.string().optional().describe("The absolute path to the directory to list (default: the workspace)"),
  ignore: z.array(z.string()).optional().describe('Glob patterns of names or paths to leave out, e.g. ["*.log", "build"]'),
});

export const lsTool = defineTool({
  name: "LS",
  description: `Lists the files and directories under a path, recursively, as an indented tree.

- path should be absolute; a relative path resolves against the workspace (the default).
- Hidden entries and __pycache__ are left out; node_modules is shown but not entered.
- ignore takes glob patterns of names or paths to leave out.
- At most ${MAX_LS_ENTRIES} entries; prefer Glob and Grep when you know what you are looking for.`,
  schema,
  async run(args, ctx) {
    const root = resolvePath(ctx, args.path ?? ".");
    const result = await runScript(ctx, LS_SCRIPT, [root, String(MAX_LS_ENTRIES + 1), ...lsFindArgs(args.ignore ?? [])]);
    if (result.exitCode === EXIT.missing) throw new ToolFailure(`Directory does not exist: ${root}`);
    if (result.exitCode !== 0 && result.stdout === "") throw new ToolFailure(fileProblem(result, root));
    const entries = nulRecords(result).map((record) => ({ dir: record.startsWith("d"), path: record.slice(2) }));
    const more = entries.length > MAX_LS_ENTRIES;
    const tree = renderTree(root, entries.slice(0, MAX_LS_ENTRIES));
    return more
      ? `There are more than ${MAX_LS_ENTRIES} files and directories under ${root}. Use LS with a more specific path, or Glob and Grep, to explore further. The first ${MAX_LS_ENTRIES} are included below:\n\n${tree}`
      : tree;
  },
});

/** Prunes hidden entries, __pycache__ and the ignore globs; node_modules is printed but not entered. */
function lsFindArgs(ignore: readonly string[]): string[] {
  const tests = ["-name", ".?*", "-o", "-name", "__pycache__"];
  for (const glob of ignore) {
    const pattern = glob.replace(/^\.\//, "").replace(/\/+$/, "");
    if (pattern === "") continue;
    tests.push("-o", "-regex", pattern.includes("/") ? `\\./${globToRegex(pattern)}` : `\\./(.*/)?${globToRegex(pattern)}`);
  }
  return ["(", ...tests, ")", "-prune", "-o", "-name", "node_modules", "-printf", "%y\\t%P\\0", "-prune", "-o"];
}

interface Node {
  dir: boolean;
  children: Map<string, Node>;
}

function renderTree(root: string, entries: { dir: boolean; path: string }[]): string {
  const top: Node = { dir: true, children: new Map() };
  for (const entry of entries) {
    let node = top;
    const parts = entry.path.split("/");
    parts.forEach((part, i) => {
      let child = node.children.get(part);
      if (!child) node.children.set(part, (child = { dir: i < parts.length - 1, children: new Map() }));
      if (i === parts.length - 1 && entry.dir) child.dir = true;
      node = child;
    });
  }
  const lines = [`- ${root.endsWith("/") ? root : `${root}/`}`];
  const walk = (node: Node, depth: number): void => {
    for (const name of [...node.children.keys()].sort()) {
      const child = node.children.get(name)!;
      lines.push(`${"  ".repeat(depth)}- ${name}${child.dir ? "/" : ""}`);
      walk(child, depth + 1);
    }
  };
  walk(top, 1);
  return lines.join("\n");
}
