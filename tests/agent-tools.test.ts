import { spawnSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SandboxSession } from "../src/sandbox/index.js";
import { completeUtf8Length, readShell } from "../src/tools/background.js";
import { runToolCall, TOOLS, type ToolContext, type ToolResult } from "../src/tools/index.js";
import { makeProject, REPO, sabuild, sabuildJson } from "./helpers.js";
import { containerExists } from "./support/docker.js";
import { shellSandbox } from "./support/tool-sandbox.js";

// Background shells (Bash run_in_background, BashOutput, KillShell) and the notebook tools, in a
// real container of the bundled shell recipe; and the feature-dev plugin agents that name them.

let sandbox: SandboxSession;
let ctx: ToolContext;

beforeAll(async () => {
  sandbox = await shellSandbox({ commandTimeoutMs: 20_000 });
  ctx = { sandbox };
}, 600_000);

afterAll(async () => {
  await sandbox?.close();
});

function call(name: string, args: object, context: ToolContext = ctx): Promise<ToolResult> {
  return runToolCall(TOOLS, name, JSON.stringify(args), context);
}

async function ok(name: string, args: object, context: ToolContext = ctx): Promise<string> {
  const r = await call(name, args, context);
  expect(r.isError, r.content).toBe(false);
  return r.content;
}

async function sh(command: string, context: ToolContext = ctx): Promise<string> {
  const r = await context.sandbox.exec(["bash", "-c", command]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

async function background(command: string, context: ToolContext = ctx): Promise<string> {
  const launched = await ok("Bash", { command, run_in_background: true }, context);
  const m = /^Command running in background with ID: ([0-9a-f]{6})$/.exec(launched);
  expect(m, launched).not.toBeNull();
  return m![1]!;
}

interface Read {
  status: string;
  exitCode?: string;
  stdout?: string;
  stderr?: string;
  raw: string;
}

/** One BashOutput call, its tagged sections parsed. */
async function readOutput(id: string, filter?: string, context: ToolContext = ctx): Promise<Read> {
  const raw = await ok("BashOutput", { bash_id: id, ...(filter === undefined ? {} : { filter }) }, context);
  const tag = (name: string) => new RegExp(`<${name}>\\n?([\\s\\S]*?)\\n?</${name}>`).exec(raw)?.[1];
  expect(raw).toMatch(/\n\n<timestamp>\d{4}-\d\d-\d\dT[\d:.]+Z<\/timestamp>$/);
  const read: Read = { status: tag("status")!, raw };
  for (const [key, name] of [["exitCode", "exit_code"], ["stdout", "stdout"], ["stderr", "stderr"]] as const) {
    const value = tag(name);
    if (value !== undefined) read[key] = value;
  }
  return read;
}

/** Reads until the shell is no longer running; returns every read. */
async function readUntilEnded(id: string, context: ToolContext = ctx): Promise<Read[]> {
  const reads: Read[] = [];
  const until = Date.now() + 30_000;
  for (;;) {
    const r = await readOutput(id, undefined, context);
    reads.push(r);
    if (r.status !== "running") return reads;
    if (Date.now() > until) throw new Error(`shell ${id} still running`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** The sleep processes (not the shells that started them) that the kill test starts. */
async function sleepers(): Promise<number> {
  const ps = await sh("ps -eo comm=,args=");
  return ps.split("\n").filter((line) => /^sleep\s+sleep 40[12]$/.test(line.trim())).length;
}

describe("background shells", () => {
  test("output written after the launch is read once the command ends, with status and exit code", async () => {
    const id = await background("echo one; sleep 1; echo two >&2; exit 3");
    const reads = await readUntilEnded(id);
    const last = reads.at(-1)!;
    expect(last.status).toBe("failed");
    expect(last.exitCode).toBe("3");
    expect(reads.map((r) => r.stdout ?? "").join("")).toBe("one");
    expect(reads.map((r) => r.stderr ?? "").join("")).toBe("two");
    // Everything was read: the next read has only the status.
    const again = await readOutput(id);
    expect(again).toMatchObject({ status: "failed", exitCode: "3" });
    expect(again.raw).not.toContain("<stdout>");
    expect(again.raw).not.toContain("<stderr>");

    const good = await background("echo fine");
    expect((await readUntilEnded(good)).at(-1)).toMatchObject({ status: "completed", exitCode: "0" });
  });

  test("each read returns only the output that is new since the last one", async () => {
    const id = await background("for i in $(seq 1 12); do echo line $i; sleep 0.2; done");
    await new Promise((resolve) => setTimeout(resolve, 700));
    const first = await readOutput(id);
    expect(first.status).toBe("running");
    expect(first.exitCode).toBeUndefined();
    expect(first.stdout).toMatch(/^line 1(\n|$)/);
    const reads = [first, ...(await readUntilEnded(id))];
    const lines = reads.flatMap((r) => (r.stdout ? r.stdout.split("\n") : []));
    expect(lines).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i + 1}`));
    expect(reads.filter((r) => r.stdout).length).toBeGreaterThan(1);
  });

  test("filter keeps the matching new lines; the others are consumed", async () => {
    const id = await background("printf 'ok 1\\nerror: disk full\\nok 2\\n'; printf 'warning: slow\\nerror: late\\n' >&2");
    await readUntilEnded(id);
    const other = await background("printf 'ok 1\\nerror: disk full\\nok 2\\n'; printf 'warning: slow\\nerror: late\\n' >&2; sleep 0.5");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const filtered = await readOutput(other, "^error");
    expect(filtered, filtered.raw).toMatchObject({ status: "completed", stdout: "error: disk full", stderr: "error: late" });
    const after = await readOutput(other);
    expect(after.raw).not.toContain("<stdout>");
    expect(after.raw).not.toContain("<stderr>");
    const bad = await call("BashOutput", { bash_id: id, filter: "(" });
    expect(bad.isError).toBe(true);
    expect(bad.content).toContain("Invalid regular expression in filter");
  });

  test("KillShell kills every process the command started, and reports shells that ended or never were", async () => {
    const id = await background("setsid sleep 401 & sleep 402 & echo started; wait");
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await sleepers()).toBe(2);
    const killed = await ok("KillShell", { shell_id: id });
    expect(JSON.parse(killed)).toEqual({
      message: `Successfully killed shell: ${id} (setsid sleep 401 & sleep 402 & echo started; wait)`,
      shell_id: id,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await sleepers()).toBe(0);
    const after = await readOutput(id);
    expect(after).toMatchObject({ status: "killed", stdout: "started" });
    expect(after.exitCode).toBeUndefined();

    const again = await call("KillShell", { shell_id: id });
    expect(again).toEqual({ content: `Shell ${id} is not running, so cannot be killed (status: killed)`, isError: true });
    const done = await background("true");
    await readUntilEnded(done);
    expect((await call("KillShell", { shell_id: done })).content).toBe(`Shell ${done} is not running, so cannot be killed (status: completed)`);
    expect(await call("KillShell", { shell_id: "abc123" })).toEqual({ content: "<tool_use_error>No shell found with ID: abc123</tool_use_error>", isError: true });
    expect(await call("BashOutput", { bash_id: "abc123" })).toEqual({ content: "<tool_use_error>No shell found with ID: abc123</tool_use_error>", isError: true });
  });

  test("each stream keeps the sandbox's output limit and says how much it discarded", async () => {
    const own = await shellSandbox({ outputLimitBytes: 1000 });
    try {
      const c = { sandbox: own };
      const id = await background("seq 1 100000; echo fine >&2", c);
      const reads = await readUntilEnded(id, c);
      const stdout = reads.map((r) => r.stdout ?? "").join("");
      // seq 1 100000 prints 588,895 bytes; the first 1000 are kept. The count is what followed
      // head's read: what head read past the limit in its last read (up to a pipe's 64 KiB,
      // more the busier the machine) is neither kept nor counted.
      expect(stdout.startsWith("1\n2\n3\n")).toBe(true);
      const counted = Number(/\[\.\.\. (\d+) bytes truncated \.\.\.\]/.exec(stdout)?.[1]);
      expect(counted).toBeLessThanOrEqual(588_895 - 1000);
      expect(counted).toBeGreaterThanOrEqual(588_895 - 1000 - 65_536);
      // A read that came while seq still wrote also says the limit was reached (on a busy machine).
      expect(stdout.replace(/\n\[\.\.\. output limit of 1000 bytes reached: later output is discarded \.\.\.\]\n/, "").length).toBeLessThan(1100);
      expect(reads.map((r) => r.stderr ?? "").join("")).toBe("fine");
      expect(await sh("stat -c %s /tmp/.sabuild-shells/*/out", c)).toBe("1000\n");
    } finally {
      await own.close();
    }
  });

  test("a discarded count still being written is not read as zero", async () => {
    const own = await shellSandbox({ outputLimitBytes: 1000 });
    try {
      const c = { sandbox: own };
      // stdout at its limit while wc -c still counts: its redirection has made the file, empty.
      await sh("d=/tmp/.sabuild-shells/abc123; mkdir -p $d; head -c 1000 /dev/zero | tr '\\0' x > $d/out; : > $d/err; : > $d/out.dropped", c);
      const shell = { id: "abc123", command: "seq 1 100000", read: { out: 0, err: 0 }, limitNoted: { out: "none" as const, err: "none" as const } };
      const first = await readShell(c, shell);
      expect(first.stdout).toBe(`${"x".repeat(1000)}\n[... output limit of 1000 bytes reached: later output is discarded ...]\n`);
      await sh("d=/tmp/.sabuild-shells/abc123; echo 5000 > $d/out.dropped; echo 0 > $d/exit", c);
      expect((await readShell(c, shell)).stdout).toBe("\n[... 5000 bytes truncated ...]\n");
    } finally {
      await own.close();
    }
  });

  test("starts in the shell's working directory without moving it, and dies with its container", async () => {
    const own = await shellSandbox();
    const c = { sandbox: own };
    await ok("Bash", { command: "mkdir -p /tmp/here && cd /tmp/here" }, c);
    const id = await background("pwd; cd /; sleep 300", c);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await readOutput(id, undefined, c)).stdout).toBe("/tmp/here");
    expect(await ok("Bash", { command: "pwd" }, c)).toBe("/tmp/here");
    await own.close();
    expect(containerExists(own.containerId)).toBe(false);
  });

  test("a character cut by a read is kept for the next one", () => {
    const euro = Buffer.from("a€", "utf8");
    expect(completeUtf8Length(euro)).toBe(4);
    expect(completeUtf8Length(euro.subarray(0, 3))).toBe(1);
    expect(completeUtf8Length(euro.subarray(0, 2))).toBe(1);
    expect(completeUtf8Length(Buffer.from("abc"))).toBe(3);
  });
});

/** A notebook as Jupyter writes one (nbformat 4.5, cell ids), with outputs. */
function sampleNotebook(minor = 5): object {
  const id = (value: string) => (minor >= 5 ? { id: value } : {});
  return {
    cells: [
      { cell_type: "markdown", ...id("intro"), metadata: {}, source: ["# Sales\n", "Monthly totals."] },
      {
        cell_type: "code",
        execution_count: 3,
        ...id("load"),
        metadata: { tags: ["setup"] },
        outputs: [
          { name: "stdout", output_type: "stream", text: ["loaded 12 rows\n"] },
          { data: { "text/plain": ["42"], "image/png": "iVBORw0KGgo=" }, execution_count: 3, metadata: {}, output_type: "execute_result" },
        ],
        source: ["import csv\n", "rows = list(csv.reader(open('sales.csv')))"],
      },
      { cell_type: "code", execution_count: 4, ...id("fail"), metadata: {}, outputs: [{ ename: "ZeroDivisionError", evalue: "division by zero", output_type: "error", traceback: ["\u001b[0;31mZeroDivisionError\u001b[0m: division by zero"] }], source: "1/0" },
    ],
    metadata: { kernelspec: { display_name: "Python 3", language: "python", name: "python3" }, language_info: { name: "python" } },
    nbformat: 4,
    nbformat_minor: minor,
  };
}

let notebooks = 0;
async function writeNotebook(nb: object): Promise<string> {
  const path = `/workspace/nb${++notebooks}/analysis.ipynb`;
  await sh(`mkdir -p ${path.replace(/\/[^/]+$/, "")}`);
  await sandbox.exec(["bash", "-c", 'cat > "$1"', "sh", path], { stdin: JSON.stringify(nb, null, 1) });
  return path;
}

/**
 * The notebook as the container holds it, checked by Python: json.load must read it, and
 * nbformat.validate must accept it where nbformat is installed (it is in CI's image).
 */
async function checkedNotebook(path: string): Promise<{ cells: Array<Record<string, unknown>>; nbformat_minor: number }> {
  const text = await sh(`cat ${path}`);
  const py = spawnSync(
    "python3",
    ["-c", "import json,sys\nnb=json.load(sys.stdin)\ntry:\n import nbformat\nexcept ImportError:\n print('json'); sys.exit(0)\nnbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))\nprint('nbformat')"],
    { input: text, encoding: "utf8" },
  );
  expect(py.status, py.stderr).toBe(0);
  expect(["json\n", "nbformat\n"]).toContain(py.stdout);
  return JSON.parse(text);
}

describe("notebooks", () => {
  test("NotebookRead shows each cell with its id, type and text outputs", async () => {
    const path = await writeNotebook(sampleNotebook());
    const text = await ok("NotebookRead", { notebook_path: path });
    expect(text).toBe(
      [
        '<cell id="intro"><cell_type>markdown</cell_type># Sales\nMonthly totals.</cell id="intro">',
        "<cell id=\"load\">import csv\nrows = list(csv.reader(open('sales.csv')))</cell id=\"load\">",
        "loaded 12 rows",
        "42\n[image/png output not shown]",
        '<cell id="fail">1/0</cell id="fail">',
        "ZeroDivisionError: division by zero",
      ].join("\n"),
    );
    expect(await ok("NotebookRead", { notebook_path: path, cell_id: "fail" })).toBe('<cell id="fail">1/0</cell id="fail">\nZeroDivisionError: division by zero');
    expect((await call("NotebookRead", { notebook_path: path, cell_id: "nope" })).content).toContain('Cell with ID "nope" not found in notebook.');
  });

  test("replace, insert and delete keep valid nbformat and everything else in the file", async () => {
    const path = await writeNotebook(sampleNotebook());
    const before = await call("NotebookEdit", { notebook_path: path, cell_id: "load", new_source: "rows = []" });
    expect(before.content).toContain("File has not been read yet");
    await ok("NotebookRead", { notebook_path: path });

    expect(await ok("NotebookEdit", { notebook_path: path, cell_id: "load", new_source: "rows = []" })).toBe("Updated cell load with rows = []");
    let nb = await checkedNotebook(path);
    expect(nb.cells[1]).toEqual({ cell_type: "code", execution_count: null, id: "load", metadata: { tags: ["setup"] }, outputs: [], source: "rows = []" });

    const inserted = await ok("NotebookEdit", { notebook_path: path, cell_id: "intro", new_source: "## Loading", cell_type: "markdown", edit_mode: "insert" });
    nb = await checkedNotebook(path);
    const newId = nb.cells[1]!["id"] as string;
    expect(inserted).toBe(`Inserted cell ${newId} with ## Loading`);
    expect(newId).toMatch(/^[0-9a-f]{8}$/);
    expect(nb.cells[1]).toEqual({ cell_type: "markdown", id: newId, metadata: {}, source: "## Loading" });

    await ok("NotebookEdit", { notebook_path: path, new_source: "%matplotlib inline", cell_type: "code", edit_mode: "insert" });
    nb = await checkedNotebook(path);
    expect(nb.cells[0]).toMatchObject({ cell_type: "code", source: "%matplotlib inline", outputs: [], execution_count: null });

    expect(await ok("NotebookEdit", { notebook_path: path, cell_id: "fail", new_source: "", edit_mode: "delete" })).toBe("Deleted cell fail");
    await ok("NotebookEdit", { notebook_path: path, cell_id: "load", new_source: "Rows load here.", cell_type: "markdown" });
    nb = await checkedNotebook(path);
    expect(nb.cells.map((c) => c["id"] ?? "")).toEqual([expect.any(String), "intro", newId, "load"]);
    expect(nb.cells[3]).toEqual({ cell_type: "markdown", id: "load", metadata: { tags: ["setup"] }, source: "Rows load here." });
    expect(await sh(`tail -c 2 ${path} | od -An -c`)).toMatch(/}\s+\\n/);
  });

  test("notebooks without cell ids are addressed as cell-N and gain no ids", async () => {
    const path = await writeNotebook(sampleNotebook(4));
    const text = await ok("NotebookRead", { notebook_path: path });
    expect(text).toContain('<cell id="cell-2">1/0</cell id="cell-2">');
    expect(await ok("NotebookEdit", { notebook_path: path, cell_id: "cell-2", new_source: "1/1" })).toBe("Updated cell cell-2 with 1/1");
    await ok("NotebookEdit", { notebook_path: path, cell_number: 0, new_source: "# Totals", cell_type: "markdown", edit_mode: "insert" });
    const nb = await checkedNotebook(path);
    expect(nb.nbformat_minor).toBe(4);
    expect(nb.cells.every((c) => !("id" in c))).toBe(true);
    expect(nb.cells.map((c) => c["source"])).toEqual([["# Sales\n", "Monthly totals."], "# Totals", expect.any(Array), "1/1"]);
    expect((await call("NotebookEdit", { notebook_path: path, cell_id: "cell-9", new_source: "x" })).content).toContain("Cell with index 9 does not exist in notebook (it has 4 cells).");
  });

  test("bad requests are tool errors", async () => {
    const path = await writeNotebook(sampleNotebook());
    await ok("NotebookRead", { notebook_path: path });
    const error = async (args: object) => {
      const r = await call("NotebookEdit", { notebook_path: path, new_source: "x", ...args });
      expect(r.isError).toBe(true);
      return r.content;
    };
    expect(await error({ edit_mode: "insert" })).toContain("Cell type is required when using edit_mode=insert.");
    expect(await error({})).toContain("Cell ID must be specified when not inserting a new cell.");
    expect(await error({ notebook_path: "/workspace/notes.md", cell_id: "intro" })).toContain("File must be a Jupyter notebook (.ipynb file)");
    expect(await error({ edit_mode: "rewrite", cell_id: "intro" })).toContain("edit_mode");
    await sh(`echo '{"not": "a notebook"}' > /workspace/broken.ipynb`);
    expect((await call("NotebookRead", { notebook_path: "/workspace/broken.ipynb" })).content).toContain('is not a Jupyter notebook: it has no "cells" list.');
    expect((await call("NotebookRead", { notebook_path: "/workspace/missing.ipynb" })).content).toContain("File does not exist: /workspace/missing.ipynb");
  });
});

describe("Anthropic's feature-dev plugin agents", () => {
  const AGENTS = ["code-explorer", "code-architect", "code-reviewer"];

  test("import with every tool they name, without unsupported_tools", () => {
    const dir = makeProject({
      "subagents.yaml": ["version: 1", "subagents:", ...AGENTS.flatMap((name) => [`  ${name}:`, `    source: {plugin: plugins/feature-dev, name: ${name}}`]), ""].join("\n"),
    });
    cpSync(join(REPO, "tests/fixtures/importers/feature-dev"), join(dir, "plugins/feature-dev"), { recursive: true });
    const r = sabuild(dir, ["build", ...AGENTS.map((name) => `${name}:import`)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const name of AGENTS) {
      const { tree } = sabuildJson<{ tree: string }>(dir, ["artifacts", `${name}:import`]);
      const tools = JSON.parse(readFileSync(join(tree, "tools.json"), "utf8"));
      expect(tools.dropped).toEqual([]);
      expect(tools.resolved).toEqual(["BashOutput", "KillShell", "Glob", "Grep", "LS", "Read", "NotebookRead", "WebFetch", "WebSearch", "TodoWrite"]);
      expect(tools.definitions.map((d: { function: { name: string } }) => d.function.name)).toEqual(tools.resolved);
    }
  });
});
