import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SandboxSession } from "../src/sandbox/index.js";
import { resolveTools, runToolCall, toOpenAiTools, TOOLS, type ToolContext, type ToolResult, type WebProvider } from "../src/tools/index.js";
import { importSource, type ToolSet } from "../src/importers/index.js";
import { globToRegex } from "../src/tools/glob-pattern.js";
import { toExtendedRegex } from "../src/tools/grep-regex.js";
import { makeProject, sabuild, sabuildJson } from "./helpers.js";
import { shellSandbox } from "./support/tool-sandbox.js";

let sandbox: SandboxSession;
let ctx: ToolContext;

beforeAll(async () => {
  sandbox = await shellSandbox({ commandTimeoutMs: 20_000 });
  ctx = { sandbox };
}, 600_000);

afterAll(async () => {
  await sandbox?.close();
});

/** A tool call as a model sends it: the arguments are a JSON string. */
function call(name: string, args: object | string, context: ToolContext = ctx): Promise<ToolResult> {
  return runToolCall(TOOLS, name, typeof args === "string" ? args : JSON.stringify(args), context);
}

async function ok(name: string, args: object, context: ToolContext = ctx): Promise<string> {
  const r = await call(name, args, context);
  expect(r.isError, r.content).toBe(false);
  return r.content;
}

async function toolError(name: string, args: object | string, context: ToolContext = ctx): Promise<string> {
  const r = await call(name, args, context);
  expect(r.isError, r.content).toBe(true);
  expect(r.content).toMatch(/^<tool_use_error>[\s\S]*<\/tool_use_error>$/);
  return r.content;
}

/** Runs a shell command in the container directly (setup and checks, not through the tools). */
async function sh(command: string): Promise<string> {
  const r = await sandbox.exec(["bash", "-c", command]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

let dirs = 0;
/** A fresh directory in the workspace for one test. */
async function freshDir(): Promise<string> {
  const dir = `/workspace/t${++dirs}`;
  await sh(`mkdir -p ${dir}`);
  return dir;
}

describe("Read", () => {
  test("numbers lines like cat -n, with offset and limit", async () => {
    const dir = await freshDir();
    await sh(`seq 1 3000 | sed 's/^/line /' > ${dir}/long.txt`);
    const all = await ok("Read", { file_path: `${dir}/long.txt` });
    const lines = all.split("\n");
    expect(lines[0]).toBe("     1\tline 1");
    expect(lines[1999]).toBe("  2000\tline 2000");
    expect(all).toContain("(Showing lines 1-2000 of 3000. Use offset and limit to read more.)");
    const part = await ok("Read", { file_path: `${dir}/long.txt`, offset: 2999, limit: 5 });
    expect(part).toBe("  2999\tline 2999\n  3000\tline 3000");
    const middle = await ok("Read", { file_path: `${dir}/long.txt`, offset: 10, limit: 2 });
    expect(middle).toBe("    10\tline 10\n    11\tline 11\n\n(Showing lines 10-11 of 3000. Use offset and limit to read more.)");
  });

  test("resolves relative paths against the workspace, cuts long lines and keeps a last line without newline", async () => {
    const dir = await freshDir();
    await sh(`printf 'short\\n%s\\nend' "$(head -c 5000 /dev/zero | tr '\\0' x)" > ${dir}/wide.txt`);
    const text = await ok("Read", { file_path: `${dir.replace("/workspace/", "")}/wide.txt` });
    const [first, second, third] = text.split("\n");
    expect(first).toBe("     1\tshort");
    expect(second).toBe(`     2\t${"x".repeat(2000)}… [line cut at 2000 characters]`);
    expect(third).toBe("     3\tend");
  });

  test("reports missing, binary and directory paths as tool errors; empty files and short files with a warning", async () => {
    const dir = await freshDir();
    await sh(`printf 'a\\0b' > ${dir}/bin.dat && : > ${dir}/empty.txt && printf 'one\\ntwo\\n' > ${dir}/two.txt`);
    expect(await toolError("Read", { file_path: `${dir}/nope.txt` })).toContain(`File does not exist: ${dir}/nope.txt`);
    expect(await toolError("Read", { file_path: `${dir}/bin.dat` })).toContain("is a binary file");
    expect(await toolError("Read", { file_path: dir })).toContain("is a directory");
    expect(await ok("Read", { file_path: `${dir}/empty.txt` })).toContain("the file exists but the contents are empty");
    expect(await ok("Read", { file_path: `${dir}/two.txt`, offset: 5 })).toContain("shorter than the provided offset (5). The file has 2 lines.");
  });
});

describe("Write", () => {
  test("creates parent directories and writes the exact content", async () => {
    const dir = await freshDir();
    const content = "first\n\ttabbed $HOME `x` \\n\nünïcödé\n";
    expect(await ok("Write", { file_path: `${dir}/a/b/c.txt`, content })).toBe(`File created successfully at: ${dir}/a/b/c.txt`);
    expect(await sh(`cat ${dir}/a/b/c.txt`)).toBe(content);
  });

  test("overwrites an existing file only after it was read", async () => {
    const dir = await freshDir();
    await sh(`echo old > ${dir}/f.txt`);
    expect(await toolError("Write", { file_path: `${dir}/f.txt`, content: "new\n" })).toContain("File has not been read yet. Read it first before writing to it.");
    expect(await sh(`cat ${dir}/f.txt`)).toBe("old\n");
    await ok("Read", { file_path: `${dir}/f.txt` });
    expect(await ok("Write", { file_path: `${dir}/f.txt`, content: "new\n" })).toBe(`The file ${dir}/f.txt has been updated.`);
    expect(await sh(`cat ${dir}/f.txt`)).toBe("new\n");
  });
});

describe("Edit", () => {
  async function readable(content: string): Promise<string> {
    const dir = await freshDir();
    const file = `${dir}/code.py`;
    await ok("Write", { file_path: file, content });
    return file;
  }

  test("replaces exactly one occurrence and shows the edited lines", async () => {
    const file = await readable("def f():\n    return 1\n\ndef g():\n    return 2\n");
    const out = await ok("Edit", { file_path: file, old_string: "return 2", new_string: "return 20" });
    expect(out).toContain("has been updated");
    expect(out).toContain("     5\t    return 20");
    expect(await sh(`cat ${file}`)).toBe("def f():\n    return 1\n\ndef g():\n    return 20\n");
  });

  test("refuses a string that is not unique, says how many, and replace_all replaces them all", async () => {
    const file = await readable("x = 1\ny = x + x\nprint(x)\n");
    const err = await toolError("Edit", { file_path: file, old_string: "x", new_string: "z" });
    expect(err).toContain("Found 4 matches of the string to replace, but replace_all is false");
    expect(await sh(`cat ${file}`)).toBe("x = 1\ny = x + x\nprint(x)\n");
    expect(await ok("Edit", { file_path: file, old_string: "x", new_string: "z", replace_all: true })).toContain("All 4 occurrences");
    expect(await sh(`cat ${file}`)).toBe("z = 1\ny = z + z\nprint(z)\n");
  });

  test("errors: string not found, identical strings, file not read, file changed since read, missing file", async () => {
    const file = await readable("alpha\nbeta\n");
    expect(await toolError("Edit", { file_path: file, old_string: "gamma", new_string: "delta" })).toContain("String to replace not found in file.\nString: gamma");
    expect(await toolError("Edit", { file_path: file, old_string: "beta", new_string: "beta" })).toContain("No changes to make");
    await sh(`echo other > ${file}.2 && touch -d '2001-01-01' ${file}`);
    expect(await toolError("Edit", { file_path: `${file}.2`, old_string: "other", new_string: "x" })).toContain("File has not been read yet");
    expect(await toolError("Edit", { file_path: file, old_string: "beta", new_string: "x" })).toContain("File has been modified since read");
    expect(await toolError("Edit", { file_path: `${file}.missing`, old_string: "a", new_string: "b" })).toContain("File does not exist");
  });

  test("an empty old_string creates a file; an existing one is refused", async () => {
    const dir = await freshDir();
    expect(await ok("Edit", { file_path: `${dir}/new/x.txt`, old_string: "", new_string: "hello\n" })).toContain("File created successfully");
    expect(await sh(`cat ${dir}/new/x.txt`)).toBe("hello\n");
    expect(await toolError("Edit", { file_path: `${dir}/new/x.txt`, old_string: "", new_string: "again" })).toContain("file already exists");
  });

  test("keeps CRLF line endings and bytes that are not UTF-8", async () => {
    const dir = await freshDir();
    await sh(`printf 'one\\r\\ntwo \\xff\\xfe\\r\\nthree\\r\\n' > ${dir}/dos.txt`);
    await ok("Read", { file_path: `${dir}/dos.txt` });
    await ok("Edit", { file_path: `${dir}/dos.txt`, old_string: "one\nt", new_string: "ONE\nT" });
    expect(await sh(`od -An -c -w64 ${dir}/dos.txt | tr -s ' '`)).toBe(" O N E \\r \\n T w o 377 376 \\r \\n t h r e e \\r \\n\n");
  });
});

describe("MultiEdit", () => {
  test("applies edits in order, all or nothing", async () => {
    const dir = await freshDir();
    const file = `${dir}/m.txt`;
    await ok("Write", { file_path: file, content: "red green blue\n" });
    const failed = await toolError("MultiEdit", {
      file_path: file,
      edits: [
        { old_string: "red", new_string: "RED" },
        { old_string: "purple", new_string: "PURPLE" },
      ],
    });
    expect(failed).toContain("Edit 2 of 2 failed, so no edit was applied. String to replace not found in file.");
    expect(await sh(`cat ${file}`)).toBe("red green blue\n");
    const done = await ok("MultiEdit", {
      file_path: file,
      edits: [
        { old_string: "red", new_string: "RED" },
        { old_string: "RED green", new_string: "RED GREEN" },
        { old_string: "e", new_string: "E", replace_all: true },
      ],
    });
    expect(done).toContain(`Applied 3 edits to ${file}`);
    expect(await sh(`cat ${file}`)).toBe("RED GREEN bluE\n");
  });
});

describe("Glob", () => {
  test("matches ** and {a,b}, newest first, skipping hidden entries unless named", async () => {
    const dir = await freshDir();
    await sh(
      `cd ${dir} && mkdir -p src/deep/er .hidden && touch -d '2020-01-01' src/old.ts && touch -d '2022-01-01' src/deep/er/new.tsx && ` +
        `touch -d '2021-01-01' src/deep/mid.ts && touch src/skip.js .hidden/h.ts top.ts`,
    );
    expect(await ok("Glob", { pattern: "**/*.{ts,tsx}", path: dir })).toBe(
      [`${dir}/top.ts`, `${dir}/src/deep/er/new.tsx`, `${dir}/src/deep/mid.ts`, `${dir}/src/old.ts`].join("\n"),
    );
    expect(await ok("Glob", { pattern: "*.ts", path: dir })).toBe(`${dir}/top.ts`);
    expect(await ok("Glob", { pattern: `${dir}/src/*.ts` })).toBe(`${dir}/src/old.ts`);
    expect(await ok("Glob", { pattern: ".hidden/*.ts", path: dir })).toBe(`${dir}/.hidden/h.ts`);
    expect(await ok("Glob", { pattern: "**/*.rs", path: dir })).toBe("No files found");
    expect(await toolError("Glob", { pattern: "*", path: `${dir}/nope` })).toContain("Directory does not exist");
  });

  test("caps results at 100 with a note", async () => {
    const dir = await freshDir();
    await sh(`cd ${dir} && for i in $(seq 1 120); do : > f$i.txt; done`);
    const out = await ok("Glob", { pattern: "*.txt", path: dir });
    expect(out.split("\n").filter((l) => l.startsWith("/"))).toHaveLength(100);
    expect(out).toContain("(Results are truncated: 120 files matched");
  });
});

describe("Grep", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await freshDir();
    await sh(
      `cd ${dir} && mkdir -p src lib node_modules/pkg && ` +
        `printf 'import os\\n\\ndef retry_policy():\\n    return 3\\n\\nRETRY = retry_policy()\\n' > src/policy.py && ` +
        `printf 'const Retry = 1;\\nexport default Retry;\\n' > lib/retry.js && ` +
        `printf 'retry here too\\n' > node_modules/pkg/index.js && printf 'retry\\0binary' > src/blob.bin && ` +
        `touch -d '2020-01-01' lib/retry.js`,
    );
  });

  test("files_with_matches by default, newest first; binary files and node_modules skipped", async () => {
    expect(await ok("Grep", { pattern: "retry", path: dir, "-i": true })).toBe(`Found 2 files\n${dir}/src/policy.py\n${dir}/lib/retry.js`);
    expect(await ok("Grep", { pattern: "retry", path: dir })).toBe(`Found 1 file\n${dir}/src/policy.py`);
    expect(await ok("Grep", { pattern: "no such text", path: dir })).toBe("No files found");
  });

  test("content with line numbers and context; one file without its name", async () => {
    expect(await ok("Grep", { pattern: "def \\w+\\(", path: dir, output_mode: "content" })).toBe(`${dir}/src/policy.py:3:def retry_policy():`);
    expect(await ok("Grep", { pattern: "return \\d", path: dir, output_mode: "content", "-C": 1 })).toBe(
      [`${dir}/src/policy.py-3-def retry_policy():`, `${dir}/src/policy.py:4:    return 3`, `${dir}/src/policy.py-5-`].join("\n"),
    );
    expect(await ok("Grep", { pattern: "Retry", path: `${dir}/lib/retry.js`, output_mode: "content", "-n": false })).toBe("const Retry = 1;\nexport default Retry;");
  });

  test("count, glob and type filters, head_limit", async () => {
    expect(await ok("Grep", { pattern: "retry", path: dir, output_mode: "count", "-i": true })).toBe(
      `${dir}/lib/retry.js:2\n${dir}/src/policy.py:2\n\nFound 4 matching lines across 2 files.`,
    );
    expect(await ok("Grep", { pattern: "retry", path: dir, "-i": true, glob: "*.js" })).toBe(`Found 1 file\n${dir}/lib/retry.js`);
    expect(await ok("Grep", { pattern: "retry", path: dir, "-i": true, glob: "src/**/*.{py,pyi}" })).toBe(`Found 1 file\n${dir}/src/policy.py`);
    expect(await ok("Grep", { pattern: "retry", path: dir, "-i": true, type: "py" })).toBe(`Found 1 file\n${dir}/src/policy.py`);
    expect(await ok("Grep", { pattern: "retry", path: dir, "-i": true, output_mode: "content", head_limit: 2 })).toBe(
      `${dir}/lib/retry.js:1:const Retry = 1;\n${dir}/lib/retry.js:2:export default Retry;`,
    );
    expect(await ok("Grep", { pattern: "retry", path: dir, "-i": true, head_limit: 1 })).toBe(`Found 2 files (showing 1)\n${dir}/src/policy.py`);
  });

  test("files that are not UTF-8 are searched like any other", async () => {
    await sh(`printf 'caf\\xe9 marker_l1\\n' > ${dir}/src/latin1.txt`);
    expect(await ok("Grep", { pattern: "marker_l1", path: dir })).toBe(`Found 1 file\n${dir}/src/latin1.txt`);
    expect(await ok("Grep", { pattern: "marker_l1", path: dir, output_mode: "content" })).toBe(`${dir}/src/latin1.txt:1:caf\uFFFD marker_l1`);
  });

  test("bad requests are tool errors", async () => {
    expect(await toolError("Grep", { pattern: "a.b", path: dir, multiline: true })).toContain("multiline is not supported");
    expect(await toolError("Grep", { pattern: "(unclosed", path: dir })).toContain("invalid regular expression");
    expect(await toolError("Grep", { pattern: "x", path: dir, type: "klingon" })).toContain('Unknown file type "klingon"');
    expect(await toolError("Grep", { pattern: "x", path: `${dir}/nope` })).toContain("Path does not exist");
  });
});

describe("LS", () => {
  test("lists a tree, leaving out hidden entries and ignored globs", async () => {
    const dir = await freshDir();
    await sh(`cd ${dir} && mkdir -p src/util .git node_modules/x build && touch src/a.ts src/util/b.ts README.md .env build/out.js src/c.log node_modules/x/y.js`);
    expect(await ok("LS", { path: dir, ignore: ["*.log", "build"] })).toBe(
      [`- ${dir}/`, "  - README.md", "  - node_modules/", "  - src/", "    - a.ts", "    - util/", "      - b.ts"].join("\n"),
    );
    expect(await toolError("LS", { path: `${dir}/README.md` })).toContain("is not a directory");
  });
});

describe("Bash", () => {
  test("shows stdout, stderr and a non-zero exit code", async () => {
    expect(await ok("Bash", { command: "echo out; echo err >&2" })).toBe("out\nerr");
    expect(await ok("Bash", { command: "ls /nonexistent; exit 3", description: "List a missing directory" })).toMatch(/No such file or directory\nExit code 3$/);
    expect(await ok("Bash", { command: "true" })).toBe("(no output)");
    expect(await ok("Bash", { command: "pwd" })).toBe("/workspace");
  });

  test("keeps the image's PATH, which a login shell on Debian resets", async () => {
    const imagePath = (await sh("printenv PATH")).trim();
    const login = (await sh("bash -lc 'printenv PATH'")).trim();
    expect(login).not.toBe(imagePath);
    const path = await ok("Bash", { command: "printenv PATH" });
    expect(path.startsWith(imagePath)).toBe(true);
    expect(path.split(":")).toEqual(expect.arrayContaining(login.split(":")));
  });

  test("a timeout is a tool error that says so", async () => {
    const err = await toolError("Bash", { command: "echo started; sleep 30", timeout: 1500 });
    expect(err).toContain("Command timed out after 1500 ms");
    expect(err).toContain("started");
  });

  test("output over the sandbox limit keeps its truncation marker", async () => {
    const out = await ok("Bash", { command: "seq 1 100000" });
    expect(out).toMatch(/\[\.\.\. \d+ bytes truncated \.\.\.\]/);
    expect(out.startsWith("1\n2\n3\n")).toBe(true);
    expect(out.endsWith("100000")).toBe(true);
  });

  test("the working directory carries over between calls", async () => {
    const own = await shellSandbox();
    try {
      const c = { sandbox: own };
      await ok("Bash", { command: "mkdir -p /tmp/elsewhere && cd /tmp/elsewhere && export X=1" }, c);
      expect(await ok("Bash", { command: 'pwd; echo "X=${X:-unset}"' }, c)).toBe("/tmp/elsewhere\nX=unset");
    } finally {
      await own.close();
    }
  });
});

describe("paths with spaces and quotes", () => {
  test("every file tool handles them", async () => {
    const dir = `${await freshDir()}/it's a "dir" $(x)`;
    const file = `${dir}/my file; rm -rf ~.txt`;
    await ok("Write", { file_path: file, content: "needle one\nneedle two\n" });
    expect(await ok("Read", { file_path: file })).toBe("     1\tneedle one\n     2\tneedle two");
    await ok("Edit", { file_path: file, old_string: "needle two", new_string: "needle 2" });
    expect(await ok("Glob", { pattern: "*.txt", path: dir })).toBe(file);
    expect(await ok("Grep", { pattern: "needle \\d", path: dir, output_mode: "content" })).toBe(`${file}:2:needle 2`);
    expect(await ok("LS", { path: dir })).toBe(`- ${dir}/\n  - my file; rm -rf ~.txt`);
  });
});

describe("tool calls", () => {
  test("malformed JSON, non-object arguments and unknown tools are tool errors", async () => {
    expect(await toolError("Read", '{"file_path": "/etc/hostname"')).toContain("The arguments for Read are not valid JSON");
    expect(await toolError("Read", "[1]")).toContain('must be a JSON object, e.g. {"file_path":"..."}');
    expect(await toolError("Teleport", "{}")).toContain("No such tool available: Teleport. The available tools are: Bash, BashOutput, KillShell, Glob, Grep, LS, Read");
  });

  test("arguments are validated against the schema", async () => {
    const err = await toolError("Read", { path: "/etc/hostname", limit: "10" });
    expect(err).toContain("InputValidationError: Read failed due to the following issues:");
    expect(err).toContain("The required parameter `file_path` is missing");
    expect(err).toContain("The parameter `limit` type is expected as `number` but provided as `string`");
    expect(err).toContain("An unexpected parameter `path` was provided");
  });

  test("a NUL in a path or command is a tool error, not a crash", async () => {
    expect(await toolError("Read", { file_path: "/etc/host\u0000name" })).toContain("NUL character");
    expect(await toolError("Bash", { command: "echo a\u0000b" })).toContain("NUL character");
  });

  test("null stands for an optional parameter left out", async () => {
    expect(await ok("Glob", { pattern: "/etc/debian_version", path: null })).toBe("/etc/debian_version");
    expect(await toolError("Read", { file_path: null })).toContain("The required parameter `file_path` is missing");
  });

  test("old tool names still reach their tool", async () => {
    expect((await call("View", { file_path: "/etc/debian_version" })).content).toMatch(/^\s+1\t\d+/);
  });

  test("web tools need a provider", async () => {
    expect(await toolError("WebFetch", { url: "https://example.com", prompt: "title?" })).toContain("WebFetch is unavailable");
    expect(await toolError("WebSearch", { query: "sabuild" })).toContain("WebSearch is unavailable");
    const web: WebProvider = {
      fetch: async (url, prompt) => `fetched ${url} for ${prompt}`,
      search: async (query, options) => `results for ${query} in ${options.allowed_domains?.join(",")}`,
    };
    // The URL reaches the provider as written: it upgrades http to https itself, except for
    // allow-listed hosts (tests/web-fetch.test.ts).
    expect(await ok("WebFetch", { url: "http://example.com/a", prompt: "title?" }, { sandbox, web })).toBe("fetched http://example.com/a for title?");
    expect(await ok("WebSearch", { query: "sabuild", allowed_domains: ["docs.rs"] }, { sandbox, web })).toBe("results for sabuild in docs.rs");
  });

  test("TodoWrite keeps the list in memory", async () => {
    const out = await ok("TodoWrite", { todos: [{ content: "Run tests", status: "in_progress", activeForm: "Running tests" }, { content: "Report", status: "pending" }] });
    expect(out).toContain("2 items, 2 open");
  });
});

describe("patterns", () => {
  test("globs become regular expressions over whole paths", () => {
    const matches = (glob: string, path: string) => new RegExp(`^${globToRegex(glob)}$`).test(path);
    expect(matches("**/*.ts", "a.ts")).toBe(true);
    expect(matches("**/*.ts", "a/b/c.ts")).toBe(true);
    expect(matches("*.ts", "a/b.ts")).toBe(false);
    expect(matches("src/**", "src/a/b")).toBe(true);
    expect(matches("{src,lib}/**/*.{js,{c,m}js}", "lib/x/y.mjs")).toBe(true);
    expect(matches("{src,lib}/**/*.{js,{c,m}js}", "test/y.js")).toBe(false);
    expect(matches("test_?.[!a-c]y", "test_1.py")).toBe(true);
    expect(matches("test_?.[!a-c]y", "test_1.ay")).toBe(false);
    expect(matches("a\\*b.(x)+", "a*b.(x)+")).toBe(true);
    expect(matches("a\\*b.(x)+", "aXb.(x)+")).toBe(false);
  });

  test("PCRE shorthands grep -E lacks are rewritten, and GNU grep -E agrees with grep -P", async () => {
    expect(toExtendedRegex("v\\d+\\.\\d+")).toBe("v[0-9]+\\.[0-9]+");
    expect(toExtendedRegex("[\\d.]+(?:x|y)\\D")).toBe("[0-9.]+(x|y)[^0-9]");
    expect(toExtendedRegex("[]\\d]")).toBe("[]0-9]");
    const lines = "v1.2\nversion x\nid 42y\nfoo(bar)\n";
    for (const pattern of ["v\\d+\\.\\d", "\\d+(?:x|y)", "\\w+\\(\\w+\\)", "^[^\\d]*$"]) {
      const grep = (flag: string, p: string) => sandbox.exec(["grep", flag, "-e", p], { stdin: lines });
      const [pcre, ere] = await Promise.all([grep("-P", pattern), grep("-E", toExtendedRegex(pattern))]);
      expect(ere.stdout, pattern).toBe(pcre.stdout);
      expect(ere.stdout, pattern).not.toBe("");
    }
  });
});

describe("old tool names in agent files", () => {
  test("import as today's tools", async () => {
    const dir = makeProject({ "old.md": "---\nname: old\ndescription: An agent from early 2025\ntools: View, GlobTool, GrepTool, LS, Replace, dispatch_agent\n---\nDo things.\n" });
    const imported = await importSource(dir, { agent: "old.md" }, "old");
    if (!imported.ok) throw new Error(JSON.stringify(imported.error));
    expect(imported.value.spec.tools.allowed).toEqual(["Agent", "Glob", "Grep", "LS", "Read", "Write"]);
    expect(imported.value.warnings).toEqual([]);
  });
});

describe("resolveTools", () => {
  const set = (over: Partial<ToolSet>): ToolSet => ({ all: false, allowed: [], disallowed: [], mcp: [], patterns: {}, ...over });

  test("all means every implemented tool except the disallowed", () => {
    const { tools, unsupported } = resolveTools(set({ all: true, allowed: ["Agent", "Bash"], disallowed: ["Bash", "WebFetch"] }));
    expect(tools.map((t) => t.name)).toEqual(["BashOutput", "KillShell", "Glob", "Grep", "LS", "Read", "Edit", "MultiEdit", "Write", "NotebookRead", "NotebookEdit", "WebSearch", "TodoWrite"]);
    expect(unsupported).toEqual([]);
  });

  test("names without an implementation are listed, old names are mapped", () => {
    const { tools, unsupported } = resolveTools(set({ allowed: ["Agent", "GlobTool", "Skill", "Read", "View"], mcp: ["mcp__linear__create_issue"] }));
    expect(tools.map((t) => t.name)).toEqual(["Glob", "Read"]);
    expect(unsupported).toEqual(["Agent", "Skill", "mcp__linear__create_issue"]);
  });

  test("OpenAI definitions carry the schemas", () => {
    const [read] = toOpenAiTools(resolveTools(set({ allowed: ["Read"] })).tools);
    expect(read).toMatchObject({ type: "function", function: { name: "Read", parameters: { type: "object", required: ["file_path"], additionalProperties: false } } });
    expect(JSON.stringify(read)).not.toContain("$schema");
    expect(JSON.stringify(read)).not.toContain("9007199254740991");
  });
});

describe("the import stage", () => {
  const config = (extra: string) =>
    [
      "version: 1",
      "subagents:",
      "  reviewer:",
      `    source: {inline: {description: Reviews notebooks, prompt: Review the notebook., tools: [Read, Skill, mcp__jira__search]}}`,
      extra,
    ].join("\n");

  test("fails on tools without an implementation, pointing at the source key", () => {
    const dir = makeProject({ "subagents.yaml": `${config("")}\n` });
    const r = sabuild(dir, ["build", "reviewer:import"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("subagents.yaml:4:22: subagents.reviewer.source.inline: the subagent's tools include 2 that sabuild cannot run: Skill, mcp__jira__search");
    expect(r.stderr).toContain("hint: set unsupported_tools: ignore on the subagent to drop them");
  });

  test("with unsupported_tools: ignore it builds without them, and tools.json lists what is left", () => {
    const dir = makeProject({ "subagents.yaml": `${config("    unsupported_tools: ignore")}\n` });
    const r = sabuild(dir, ["build", "reviewer:import", "--verbose"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain("dropped tools sabuild cannot run (unsupported_tools: ignore): Skill, mcp__jira__search");
    const { tree } = sabuildJson<{ tree: string }>(dir, ["artifacts", "reviewer:import"]);
    const tools = JSON.parse(readFileSync(join(tree, "tools.json"), "utf8"));
    expect(tools).toMatchObject({ resolved: ["Read"], dropped: ["Skill", "mcp__jira__search"] });
    expect(tools.definitions).toEqual([expect.objectContaining({ type: "function", function: expect.objectContaining({ name: "Read" }) })]);
  });
});
