import { ToolFailure } from "./define.js";
import { escapeRegex, globToRegex } from "./glob-pattern.js";

/** Grep's `type` names (ripgrep's, for the common ones) as file name globs. */
export const FILE_TYPES: Readonly<Record<string, readonly string[]>> = {
  c: ["*.c", "*.h"],
  cpp: ["*.cpp", "*.cc", "*.cxx", "*.c++", "*.hpp", "*.hh", "*.hxx", "*.h", "*.inl"],
  cs: ["*.cs"],
  css: ["*.css", "*.scss", "*.sass", "*.less"],
  docker: ["Dockerfile", "Dockerfile.*", "*.dockerfile"],
  go: ["*.go"],
  html: ["*.html", "*.htm"],
  java: ["*.java"],
  js: ["*.js", "*.jsx", "*.mjs", "*.cjs", "*.vue"],
  json: ["*.json", "*.jsonl"],
  kotlin: ["*.kt", "*.kts"],
  lua: ["*.lua"],
  make: ["Makefile", "makefile", "GNUmakefile", "*.mk", "*.mak"],
  md: ["*.md", "*.markdown", "*.mdx"],
  php: ["*.php"],
  proto: ["*.proto"],
  py: ["*.py", "*.pyi"],
  r: ["*.R", "*.r", "*.Rmd"],
  ruby: ["*.rb", "Gemfile", "*.gemspec", "Rakefile"],
  rust: ["*.rs"],
  scala: ["*.scala", "*.sbt"],
  sh: ["*.sh", "*.bash", "*.zsh", "*.ksh"],
  sql: ["*.sql"],
  swift: ["*.swift"],
  toml: ["*.toml"],
  ts: ["*.ts", "*.tsx", "*.mts", "*.cts"],
  txt: ["*.txt"],
  xml: ["*.xml", "*.xsd", "*.xsl"],
  yaml: ["*.yaml", "*.yml"],
};

const TYPE_ALIASES: Readonly<Record<string, string>> = {
  python: "py", javascript: "js", jsx: "js", typescript: "ts", tsx: "ts", rs: "rust", rb: "ruby", golang: "go",
  markdown: "md", yml: "yaml", bash: "sh", shell: "sh", dockerfile: "docker", makefile: "make", kt: "kotlin",
  "c++": "cpp", csharp: "cs", text: "txt",
};

/**
 * find arguments selecting the files Grep searches: .git and node_modules pruned (unless the
 * search names them), then the glob and type filters, both of which must match.
 * A glob without a slash matches file names at any depth, as ripgrep's --glob does; with a slash,
 * it matches paths relative to the searched directory.
 */
export function grepFileFilter(glob: string | undefined, type: string | undefined, path: string): string[] {
  const named = `${glob ?? ""} ${path}`;
  const prune = [".git", "node_modules"].filter((dir) => !named.includes(dir));
  const args = ["-regextype", "posix-extended"];
  if (prune.length) args.push("(", ...prune.flatMap((dir, i) => (i ? ["-o", "-name", dir] : ["-name", dir])), ")", "-prune", "-o");
  args.push("-type", "f");
  if (glob !== undefined && glob.trim() !== "") {
    const negate = glob.startsWith("!");
    args.push(...(negate ? ["!"] : []), "-regex", pathRegex(negate ? glob.slice(1) : glob));
  }
  if (type !== undefined) {
    const globs = FILE_TYPES[TYPE_ALIASES[type] ?? type];
    if (!globs) throw new ToolFailure(`Unknown file type "${type}". Known types: ${Object.keys(FILE_TYPES).join(", ")}; or filter with glob instead.`);
    args.push("-regex", `\\./(.*/)?(${globs.map(globToRegex).join("|")})`);
  }
  return args;
}

function pathRegex(glob: string): string {
  const pattern = glob.replace(/^\.\//, "");
  if (!pattern.includes("/")) return `\\./(.*/)?${globToRegex(pattern)}`;
  return `${escapeRegex(".")}/${globToRegex(pattern.replace(/^\/+/, ""))}`;
}
