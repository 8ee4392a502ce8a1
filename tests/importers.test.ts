import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../src/config/index.js";
import type { Problem } from "../src/errors.js";
import {
  CANONICAL_TOOLS,
  discoverSources,
  importPlugin,
  importSource,
  listImportInputs,
  renderInitConfig,
  type DiscoveredSource,
  type ImportWarning,
  type SourceRef,
  type SubagentSpec,
} from "../src/importers/index.js";
import type { Result } from "../src/result.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/importers/repo", import.meta.url));
const PLUGIN = "plugins/release-tools";

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A private copy of the fixture repo, for tests that add or edit files. */
async function copyFixture(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sabuild-importers-"));
  temps.push(dir);
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

async function put(root: string, rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), text);
}

function unwrap<T>(r: Result<T, Problem[]>): T {
  if (!r.ok) throw new Error(`expected ok, got problems: ${JSON.stringify(r.error, null, 2)}`);
  return r.value;
}

function problems<T>(r: Result<T, Problem[]>): Problem[] {
  if (r.ok) throw new Error("expected problems, got ok");
  return r.error;
}

async function imported(source: SourceRef, root = FIXTURE): Promise<{ spec: SubagentSpec; warnings: ImportWarning[] }> {
  return unwrap(await importSource(root, source, "fallback"));
}

const agent = (name: string) => ({ agent: `.claude/agents/${name}.md` });
const messages = (ws: ImportWarning[]) => ws.map((w) => w.message);
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

describe("agent frontmatter", () => {
  test("a clean agent is read strictly, with no warnings", async () => {
    const { spec, warnings } = await imported(agent("code-reviewer"));
    expect(warnings).toEqual([]);
    expect(spec.provenance).toMatchObject({ path: ".claude/agents/code-reviewer.md", format: "claude-agent", parse: "strict" });
    expect(spec.provenance.frontmatter["color"]).toBe("blue");
    expect(spec).toMatchObject({ name: "code-reviewer", model: "haiku", maxTurns: 8, skills: [], bundle: [] });
    expect(spec.description).toBe("Reviews staged changes for bugs, security issues and style problems. Use after writing or modifying code.");
    expect(spec.prompt.startsWith("You are a senior code reviewer")).toBe(true);
    expect(spec.prompt.endsWith("only report.")).toBe(true);
  });

  test("a real-world description that is not YAML falls back to the lenient reader, warning at the error line", async () => {
    const { spec, warnings } = await imported(agent("pr-triager"));
    const source = (await readFile(path.join(FIXTURE, ".claude/agents/pr-triager.md"), "utf8")).split("\n");
    expect(spec.provenance.parse).toBe("lenient");
    // The strict error is on the description line: `triage: labels` is a nested mapping to YAML.
    expect(warnings[0]).toEqual({
      file: ".claude/agents/pr-triager.md",
      line: 3,
      message: expect.stringMatching(/not valid YAML \(line 3: .*\); read it with the lenient line-based reader/),
    });
    expect(source[2]).toMatch(/^description: Use this agent when a pull request needs triage: labels/);
    // Dialogue lines at column 0 (`user:`, `Context:`) stay in the description; `tools:` starts a field.
    expect(spec.description.startsWith("Use this agent when a pull request needs triage: labels, reviewers, linked issues. Examples:\n\n<example>\nContext: The user just opened a PR")).toBe(true);
    expect(spec.description).toContain('\nuser: "Can you triage PR #482 for me?"\nassistant: "I\'ll use the pr-triager agent');
    expect(spec.description.endsWith('open an issue with the failure summary."\n</example>')).toBe(true);
    expect(spec).toMatchObject({ name: "pr-triager", model: "sonnet", maxTurns: 12 });
    expect(spec.provenance.frontmatter).toMatchObject({ color: "orange", tools: "Read, Grep, Glob, Bash, Task, WebFetch, mcp__github__create_issue" });
    expect(spec.prompt.startsWith("You triage pull requests")).toBe(true);
  });

  test("`\\n` escapes in an unquoted single-line description become line breaks; flow lists stay lists", async () => {
    const { spec, warnings } = await imported({ agent: ".claude/agents/backend/db-migrator.md" });
    expect(spec.provenance.parse).toBe("lenient");
    expect(warnings.map((w) => w.line)).toEqual([3]);
    expect(spec.description).toBe(
      'Use this agent to write and check SQL migrations.\n\n<example>\nuser: "add an index on orders.customer_id"\nassistant: "I\'ll use the db-migrator agent to write the migration."\n</example>',
    );
    expect(spec.provenance.frontmatter["tools"]).toEqual(["Read", "Edit", "Bash(npx prisma migrate:*)", "KillBash"]);
    expect(spec.skills).toEqual(["prisma-conventions", "sql-style"]);
  });

  test("a broken frontmatter is read as far as the lenient reader can", async () => {
    const { spec, warnings } = await imported(agent("half-broken"));
    expect(spec.provenance.parse).toBe("lenient");
    expect(spec.name).toBe("flaky-test-hunter");
    expect(spec.tools.allowed).toEqual(["Bash", "Grep", "Read"]);
    // The unclosed quote cannot be repaired: the text is kept as written.
    expect(spec.description).toBe('"Finds flaky tests by re-running suites and comparing failures. Unclosed quote');
    expect(spec.maxTurns).toBeUndefined();
    expect(warnings).toEqual([
      { file: ".claude/agents/half-broken.md", line: 2, message: expect.stringContaining("lenient line-based reader") },
      { file: ".claude/agents/half-broken.md", line: 2, message: expect.stringContaining("belongs to no field") },
      { file: ".claude/agents/half-broken.md", line: 6, message: 'maxTurns should be a positive whole number, not "a dozen"; ignored it' },
    ]);
    expect(spec.prompt).toBe("Re-run the failing suite five times and report tests whose outcome changes between runs.");
  });

  test("a missing name defaults to the file stem, with a warning", async () => {
    const { spec, warnings } = await imported(agent("generalist"));
    expect(spec.name).toBe("generalist");
    expect(warnings).toEqual([{ file: ".claude/agents/generalist.md", line: 1, message: 'the agent has no name; using the file name "generalist"' }]);
  });

  test("frontmatter that is not a mapping is read leniently; lenient numbers become numbers", async () => {
    const root = await copyFixture();
    await put(root, "a.md", "---\n- just\n- a list\nname: lister\ndescription: Lists things\nmaxTurns: 7\n---\nbody\n");
    const { spec, warnings } = await imported({ agent: "a.md" }, root);
    expect(spec.provenance.parse).toBe("lenient");
    expect(spec).toMatchObject({ name: "lister", description: "Lists things", maxTurns: 7 });
    expect(warnings[0]?.line).toBe(2);
  });

  test("an agent file without frontmatter is a problem that says what to add", async () => {
    const root = await copyFixture();
    await put(root, ".claude/agents/plain.md", "You are a helpful agent.\n");
    const [p, ...rest] = problems(await importSource(root, agent("plain"), "plain"));
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ file: ".claude/agents/plain.md", line: 0, message: expect.stringContaining("needs YAML frontmatter") });
    expect(p?.hint).toContain("description:");
  });

  test("unclosed frontmatter is a problem at line 1; a missing file is a problem naming it", async () => {
    const root = await copyFixture();
    await put(root, "open.md", "---\nname: x\ndescription: y\n");
    expect(problems(await importSource(root, { agent: "open.md" }, "x"))[0]).toMatchObject({ file: "open.md", line: 1, message: expect.stringContaining("never closed") });
    expect(problems(await importSource(root, agent("nope"), "x"))[0]).toMatchObject({ file: ".claude/agents/nope.md", message: "agent file not found" });
    expect(problems(await listImportInputs(root, agent("nope")))[0]?.file).toBe(".claude/agents/nope.md");
  });

  test("a missing description is a warning, not a problem", async () => {
    const root = await copyFixture();
    await put(root, "quiet.md", "---\nname: quiet\n---\nDo things quietly.\n");
    const { spec, warnings } = await imported({ agent: "quiet.md" }, root);
    expect(spec.description).toBe("");
    expect(messages(warnings)).toEqual([expect.stringContaining("no description")]);
  });

  test("CRLF line endings and a BOM are read like LF files", async () => {
    const root = await copyFixture();
    const text = await readFile(path.join(root, ".claude/agents/code-reviewer.md"), "utf8");
    await put(root, "crlf.md", `\uFEFF${text.replace(/\n/g, "\r\n")}`);
    const crlf = await imported({ agent: "crlf.md" }, root);
    const lf = await imported(agent("code-reviewer"));
    expect(crlf.warnings).toEqual([]);
    expect({ ...crlf.spec, provenance: undefined }).toEqual({ ...lf.spec, provenance: undefined });
  });
});

describe("tool normalization", () => {
  const inline = (tools?: string[] | string) => ({ inline: { description: "d", prompt: "p", ...(tools === undefined ? {} : { tools }) } });

  test("list tools with patterns: Bash(git diff:*) becomes Bash plus its pattern", async () => {
    const { spec } = await imported(agent("code-reviewer"));
    expect(spec.tools).toEqual({
      all: false,
      allowed: ["Bash", "Glob", "Grep", "Read"],
      disallowed: [],
      mcp: [],
      patterns: { Bash: ["git diff:*", "git log:*"] },
    });
  });

  test("comma string: Task is Agent, disallowed applies first, MCP tools are kept and warned about", async () => {
    const { spec, warnings } = await imported(agent("pr-triager"));
    expect(spec.tools).toEqual({
      all: false,
      allowed: ["Agent", "Bash", "Glob", "Grep", "Read"],
      disallowed: ["WebFetch"],
      mcp: ["mcp__github__create_issue"],
      patterns: {},
    });
    expect(warnings[1]).toEqual({
      file: ".claude/agents/pr-triager.md",
      line: 19,
      message: 'tool mcp__github__create_issue comes from the MCP server "github": the distilled model needs an MCP provider for it',
    });
  });

  test("missing tools means every tool, minus the disallowed ones", async () => {
    const { spec } = await imported(agent("generalist"));
    expect(spec.tools.all).toBe(true);
    expect(spec.tools.disallowed).toEqual(["MultiEdit", "Write"]);
    expect(spec.tools.allowed).toEqual([...CANONICAL_TOOLS].filter((t) => t !== "Write" && t !== "MultiEdit").sort());
  });

  test("aliases, flow lists with quoted patterns, and an empty list meaning no tools", async () => {
    expect((await imported({ agent: ".claude/agents/backend/db-migrator.md" })).spec.tools).toEqual({
      all: false,
      allowed: ["Bash", "Edit", "KillShell", "Read"],
      disallowed: [],
      mcp: [],
      patterns: { Bash: ["npx prisma migrate:*"] },
    });
    expect((await imported(inline([]))).spec.tools).toMatchObject({ all: false, allowed: [] });
    expect((await imported(inline())).spec.tools).toMatchObject({ all: true, allowed: [...CANONICAL_TOOLS].sort() });
  });

  test("unknown tools are kept with a did-you-mean warning; a bare name beside patterns keeps no patterns", async () => {
    const { spec, warnings } = await imported(inline("Reed, Bash(git:*), Bash, Task(worker, researcher), mcp__linear__*"));
    expect(spec.tools).toEqual({
      all: false,
      allowed: ["Agent", "Bash", "Reed"],
      disallowed: [],
      mcp: ["mcp__linear__*"],
      patterns: { Agent: ["worker, researcher"] },
    });
    expect(messages(warnings)).toEqual([
      'unknown tool "Reed" is kept as written; did you mean "Read"?',
      expect.stringContaining('MCP server "linear"'),
    ]);
  });

  test("a disallowed pattern denies the whole tool, with a warning at the disallowedTools line", async () => {
    const root = await copyFixture();
    await put(root, "deny.md", "---\nname: deny\ndescription: d\ntools: Read, Bash(git:*)\ndisallowedTools: Bash(rm:*), Task\n---\nbody\n");
    const { spec, warnings } = await imported({ agent: "deny.md" }, root);
    expect(spec.tools).toEqual({ all: false, allowed: ["Read"], disallowed: ["Agent", "Bash"], mcp: [], patterns: {} });
    expect(warnings).toEqual([{ file: "deny.md", line: 5, message: "disallowed pattern Bash(rm:*) is applied to the whole Bash tool" }]);
  });

  test("skill allowed-tools may be space-separated, with spaces inside patterns", async () => {
    const { spec } = await imported({ skill: "skills/pdf-extract" });
    expect(spec.tools).toEqual({
      all: false,
      allowed: ["Bash", "Read", "Write"],
      disallowed: [],
      mcp: [],
      patterns: { Bash: ["python3 scripts/extract.py:*"] },
    });
  });
});

describe("skills", () => {
  test("every bundled file is listed with its sha256 and size, sorted; dotfiles are not bundled", async () => {
    const root = await copyFixture();
    await put(root, "skills/pdf-extract/.DS_Store", "junk");
    await put(root, "skills/pdf-extract/.git/HEAD", "ref: refs/heads/main\n");
    const { spec, warnings } = await imported({ skill: "skills/pdf-extract" }, root);
    expect(warnings).toEqual([]);
    const expected = [];
    for (const rel of ["assets/template.txt", "references/REFERENCE.md", "scripts/extract.py"]) {
      const content = await readFile(path.join(root, "skills/pdf-extract", rel));
      expected.push({ path: rel, digest: sha256(content), size: content.length });
    }
    expect(spec.bundle).toEqual(expected);
    expect(spec).toMatchObject({ name: "pdf-extract", provenance: { path: "skills/pdf-extract/SKILL.md", format: "skill", parse: "strict" } });
    expect(spec.provenance.frontmatter["metadata"]).toEqual({ author: "docs-team", version: "1.2" });
    expect(spec.prompt.startsWith("# PDF extract")).toBe(true);
  });

  test("listImportInputs names SKILL.md and the bundle; editing or adding a file shows in both", async () => {
    const root = await copyFixture();
    const ref = { skill: "skills/pdf-extract" };
    expect(unwrap(await listImportInputs(root, ref))).toEqual([
      "skills/pdf-extract/SKILL.md",
      "skills/pdf-extract/assets/template.txt",
      "skills/pdf-extract/references/REFERENCE.md",
      "skills/pdf-extract/scripts/extract.py",
    ]);
    const before = (await imported(ref, root)).spec.bundle.find((f) => f.path === "scripts/extract.py");
    await writeFile(path.join(root, "skills/pdf-extract/scripts/extract.py"), "print('changed')\n");
    await put(root, "skills/pdf-extract/scripts/tables.py", "print('tables')\n");
    const after = (await imported(ref, root)).spec.bundle;
    expect(after.find((f) => f.path === "scripts/extract.py")?.digest).toBe(sha256("print('changed')\n"));
    expect(after.find((f) => f.path === "scripts/extract.py")?.digest).not.toBe(before?.digest);
    expect(after.map((f) => f.path)).toContain("scripts/tables.py");
    expect(unwrap(await listImportInputs(root, ref))).toContain("skills/pdf-extract/scripts/tables.py");
  });

  test("a skill may be referenced by its SKILL.md too", async () => {
    const byDir = await imported({ skill: "skills/pdf-extract" });
    const byFile = await imported({ skill: "skills/pdf-extract/SKILL.md" });
    expect(byFile).toEqual(byDir);
  });

  test("spec violations are warnings: name rules, directory mismatch, description length", async () => {
    const { spec, warnings } = await imported({ skill: "skills/legacy-notes" });
    expect(spec.name).toBe("Legacy_Notes--");
    expect(spec.description.length).toBe(1254);
    expect(warnings.every((w) => w.file === "skills/legacy-notes/SKILL.md")).toBe(true);
    expect(warnings.map((w) => [w.line, w.message])).toEqual([
      [2, 'skill name "Legacy_Notes--" may hold only lowercase letters, digits and hyphens'],
      [2, 'skill name "Legacy_Notes--" may not start or end with a hyphen'],
      [2, 'skill name "Legacy_Notes--" may not hold "--"'],
      [2, 'skill name "Legacy_Notes--" should match its directory name "legacy-notes"'],
      [3, "description is 1254 characters; the spec allows at most 1024"],
    ]);
    expect(spec.tools.all).toBe(true);
  });

  test("too-long names and compatibility, a missing description, and a SKILL.md without frontmatter", async () => {
    const root = await copyFixture();
    const long = "a".repeat(65);
    await put(root, `s/${long}/SKILL.md`, `---\nname: ${long}\ncompatibility: ${"x".repeat(501)}\n---\nbody\n`);
    // In file order: the missing description is about the whole block, so it points at line 1.
    expect(messages((await imported({ skill: `s/${long}` }, root)).warnings)).toEqual([
      "the skill has no description (the spec requires one)",
      `skill name "${long}" is 65 characters (at most 64)`,
      "compatibility is 501 characters; the spec allows at most 500",
    ]);
    await put(root, "s/bare/SKILL.md", "Just instructions.\n");
    const bare = await imported({ skill: "s/bare" }, root);
    expect(bare.spec).toMatchObject({ name: "bare", prompt: "Just instructions.", provenance: { parse: "none" } });
    expect(messages(bare.warnings)).toEqual([
      expect.stringContaining("no frontmatter"),
      'the skill has no name; using the directory name "bare"',
      expect.stringContaining("no description"),
    ]);
  });

  test("a directory without SKILL.md is a problem", async () => {
    const p = problems(await importSource(FIXTURE, { skill: "skills" }, "x"));
    expect(p).toEqual([expect.objectContaining({ file: "skills/SKILL.md", message: expect.stringContaining("no SKILL.md") })]);
    expect(problems(await listImportInputs(FIXTURE, { skill: "skills/none" }))[0]?.file).toBe("skills/none/SKILL.md");
  });
});

describe("plugins", () => {
  test("importing a plugin yields every agent and skill, custom paths included, with provenance", async () => {
    const { plugin, items } = unwrap(await importPlugin(FIXTURE, PLUGIN));
    expect(plugin).toBe("release-tools");
    expect(items.map((i) => [i.spec.name, i.spec.provenance.format, i.spec.provenance.path])).toEqual([
      ["changelog-writer", "plugin-agent", "plugins/release-tools/agents/changelog-writer.md"],
      ["version-bumper", "plugin-agent", "plugins/release-tools/agents/version-bumper.md"],
      ["hotfix-coordinator", "plugin-agent", "plugins/release-tools/extra-agents/hotfix-coordinator.md"],
      ["release-notes", "plugin-skill", "plugins/release-tools/skills/release-notes/SKILL.md"],
    ]);
    expect(items.every((i) => i.spec.provenance.plugin === "release-tools")).toBe(true);
    const notes = items[3]!.spec;
    expect(notes.bundle.map((f) => f.path)).toEqual(["templates/notes.md"]);
    expect(notes.tools.allowed).toEqual(["Read", "Write"]);
  });

  test("one item by name; its inputs are the manifest, every item file and only its own bundle", async () => {
    const { spec } = await imported({ plugin: PLUGIN, name: "hotfix-coordinator" });
    expect(spec).toMatchObject({ name: "hotfix-coordinator", maxTurns: 20, provenance: { format: "plugin-agent", plugin: "release-tools" } });
    expect(spec.tools.allowed).toEqual(["Agent", "Bash", "Read"]);
    const items = [
      "plugins/release-tools/.claude-plugin/plugin.json",
      "plugins/release-tools/agents/changelog-writer.md",
      "plugins/release-tools/agents/version-bumper.md",
      "plugins/release-tools/extra-agents/hotfix-coordinator.md",
      "plugins/release-tools/skills/release-notes/SKILL.md",
    ];
    expect(unwrap(await listImportInputs(FIXTURE, { plugin: PLUGIN, name: "hotfix-coordinator" }))).toEqual(items);
    expect(unwrap(await listImportInputs(FIXTURE, { plugin: PLUGIN, name: "release-notes" }))).toEqual([
      ...items,
      "plugins/release-tools/skills/release-notes/templates/notes.md",
    ]);
  });

  test("an unknown name is a problem with a did-you-mean hint listing the items", async () => {
    const [p] = problems(await importSource(FIXTURE, { plugin: PLUGIN, name: "changelog-writr" }, "x"));
    expect(p).toMatchObject({
      file: "plugins/release-tools/.claude-plugin/plugin.json",
      message: 'plugin "release-tools" has no agent or skill named "changelog-writr"',
      hint: 'did you mean "changelog-writer"? it holds: changelog-writer, version-bumper, hotfix-coordinator, release-notes',
    });
  });

  test("without a name: the only item, or a problem listing the choices", async () => {
    const [p] = problems(await importSource(FIXTURE, { plugin: PLUGIN }, "x"));
    expect(p?.message).toContain("holds 4 agents and skills");
    expect(p?.hint).toContain("changelog-writer, version-bumper, hotfix-coordinator, release-notes");

    const root = await copyFixture();
    await put(root, "solo/.claude-plugin/plugin.json", '{ "name": "solo" }\n');
    await put(root, "solo/agents/only.md", "---\nname: only-one\ndescription: The only agent.\n---\nDo the one thing.\n");
    const { spec } = await imported({ plugin: "solo" }, root);
    expect(spec).toMatchObject({ name: "only-one", provenance: { plugin: "solo", format: "plugin-agent" } });
  });

  test("a missing or invalid plugin.json is a problem with file and line", async () => {
    const root = await copyFixture();
    const manifest = "p/.claude-plugin/plugin.json";
    await mkdir(path.join(root, "p"));
    expect(problems(await importSource(root, { plugin: "p" }, "x"))[0]).toMatchObject({ file: manifest, line: 0, message: "plugin manifest not found" });

    await put(root, manifest, '{\n  "name": "p",\n  "agents": ["./a/"],\n}\n');
    expect(problems(await importSource(root, { plugin: "p" }, "x"))[0]).toMatchObject({
      file: manifest,
      line: 4,
      column: 1,
      message: expect.stringMatching(/^plugin.json is not valid JSON/),
    });

    await put(root, manifest, '{\n  "version": "1.0.0",\n  "agents": 3\n}\n');
    expect(problems(await listImportInputs(root, { plugin: "p" }))).toEqual([
      expect.objectContaining({ file: manifest, line: 1, keyPath: ["name"], message: "plugin.json has no name" }),
      expect.objectContaining({ file: manifest, line: 3, keyPath: ["agents"], message: "agents must be a path or a list of paths" }),
    ]);

    await put(root, manifest, '{\n  "name": "p",\n  "author": { "name": "x" },\n  "skills": "./nowhere"\n}\n');
    expect(problems(await importSource(root, { plugin: "p" }, "x"))[0]).toMatchObject({ file: manifest, line: 4, keyPath: ["skills"] });
  });
});

describe("inline sources", () => {
  test("inline subagents take the fallback name and carry no file", async () => {
    const { spec, warnings } = await imported({ inline: { description: "Says hi", prompt: "  Say hi.\n", tools: ["Read"], model: "haiku", max_turns: 3 } });
    expect(warnings).toEqual([]);
    expect(spec).toMatchObject({ name: "fallback", description: "Says hi", prompt: "Say hi.", model: "haiku", maxTurns: 3 });
    expect(spec.provenance).toEqual({ path: "", format: "inline", frontmatter: { description: "Says hi", tools: ["Read"], model: "haiku", max_turns: 3 }, parse: "none" });
    expect((await imported({ inline: { name: "greeter", description: "d", prompt: "p" } })).spec.name).toBe("greeter");
    expect(unwrap(await listImportInputs(FIXTURE, { inline: { description: "d", prompt: "p" } }))).toEqual([]);
  });
});

const DISCOVERED: [string, DiscoveredSource["format"], string][] = [
  ["db-migrator", "claude-agent", ".claude/agents/backend/db-migrator.md"],
  ["code-reviewer", "claude-agent", ".claude/agents/code-reviewer.md"],
  ["generalist", "claude-agent", ".claude/agents/generalist.md"],
  ["flaky-test-hunter", "claude-agent", ".claude/agents/half-broken.md"],
  ["pr-triager", "claude-agent", ".claude/agents/pr-triager.md"],
  ["changelog-writer", "plugin-agent", "plugins/release-tools/agents/changelog-writer.md"],
  ["version-bumper", "plugin-agent", "plugins/release-tools/agents/version-bumper.md"],
  ["hotfix-coordinator", "plugin-agent", "plugins/release-tools/extra-agents/hotfix-coordinator.md"],
  ["release-notes", "plugin-skill", "plugins/release-tools/skills/release-notes/SKILL.md"],
  ["Legacy_Notes--", "skill", "skills/legacy-notes/SKILL.md"],
  ["pdf-extract", "skill", "skills/pdf-extract/SKILL.md"],
];

describe("discoverSources", () => {
  test("finds agents, skills and plugin items once each, skipping node_modules, .git, cache and dist", async () => {
    const root = await copyFixture();
    const agentText = "---\nname: hidden\ndescription: should not be found\n---\nx\n";
    for (const dir of ["node_modules/pkg", ".git", "cache", "dist"]) {
      await put(root, `${dir}/.claude/agents/hidden.md`, agentText);
      await put(root, `${dir}/skills/hidden/SKILL.md`, agentText);
    }
    // Not under .claude/agents: a Markdown file is not an agent just because it has frontmatter.
    await put(root, "docs/agents/other.md", agentText);
    const found = await discoverSources(root);
    expect(found.map((f) => [f.name, f.format, f.path])).toEqual(DISCOVERED);
    expect(found[0]?.source).toEqual({ agent: ".claude/agents/backend/db-migrator.md" });
    expect(found[5]?.source).toEqual({ plugin: PLUGIN, name: "changelog-writer" });
    expect(found[9]?.source).toEqual({ skill: "skills/legacy-notes" });
  });

  test("every discovered source imports", async () => {
    for (const f of await discoverSources(FIXTURE)) {
      const { spec } = await imported(f.source);
      expect([spec.name, spec.provenance.path, spec.provenance.format]).toEqual([f.name, f.path, f.format]);
    }
  });

  test("an agent that cannot be imported is still found, under its file name", async () => {
    const root = await copyFixture();
    await put(root, ".claude/agents/plain.md", "no frontmatter here\n");
    const found = await discoverSources(root);
    expect(found.find((f) => f.path === ".claude/agents/plain.md")).toEqual({
      name: "plain",
      source: { agent: ".claude/agents/plain.md" },
      format: "claude-agent",
      path: ".claude/agents/plain.md",
    });
  });
});

describe("renderInitConfig", () => {
  test("the scaffold parses as YAML and holds every discovered subagent with its source and tasks file", async () => {
    const found = await discoverSources(FIXTURE);
    const text = renderInitConfig(found);
    const config = parse(text) as { version: number; defaults: unknown; subagents: Record<string, { source: unknown; tasks: { from: string } }> };
    expect(config.version).toBe(1);
    // The project's own config loader accepts it as written, and with the defaults uncommented.
    const loaded = unwrap(parseConfig(text, "/project/subagents.yaml"));
    expect(loaded.subagents.map((s) => s.source)).toEqual(found.map((f) => f.source));
    const uncommented = unwrap(parseConfig(text.replace(/^ {2}# /gm, "  "), "/project/subagents.yaml"));
    expect(uncommented.subagents[0]).toMatchObject({ teacher: { model: "gpt-4.1" }, base_model: "Qwen/Qwen3-4B-Instruct-2507" });
    const names = Object.keys(config.subagents);
    expect(names).toEqual([
      "db-migrator", "code-reviewer", "generalist", "flaky-test-hunter", "pr-triager", "changelog-writer",
      "version-bumper", "hotfix-coordinator", "release-notes", "legacy_notes", "pdf-extract",
    ]);
    found.forEach((f, i) => {
      const entry = config.subagents[names[i]!]!;
      expect(entry.source).toEqual(f.source);
      expect(entry.tasks.from).toBe(`tasks/${names[i]}.jsonl`);
    });
  });

  test("names are sanitized and made unique; odd paths are quoted", () => {
    const found: DiscoveredSource[] = [
      { name: "Code Reviewer!", source: { agent: "a/one.md" }, format: "claude-agent", path: "a/one.md" },
      { name: "code-reviewer", source: { agent: "b/two.md" }, format: "claude-agent", path: "b/two.md" },
      { name: "__", source: { skill: "#weird: dir" }, format: "skill", path: "#weird: dir/SKILL.md" },
      { name: "helper", source: { inline: { description: "d", prompt: "p" } }, format: "inline", path: "" },
    ];
    const config = parse(renderInitConfig(found)) as { subagents: Record<string, { source: unknown }> };
    expect(Object.keys(config.subagents)).toEqual(["code-reviewer", "code-reviewer-2", "subagent", "helper"]);
    expect(config.subagents["subagent"]?.source).toEqual({ skill: "#weird: dir" });
    expect(config.subagents["helper"]?.source).toEqual({ inline: { description: "d", prompt: "p" } });
    for (const name of Object.keys(config.subagents)) expect(name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
  });

  test("with nothing found, the scaffold still parses and says how to add a subagent", () => {
    const text = renderInitConfig([]);
    expect(parse(text)).toMatchObject({ version: 1, subagents: {} });
    expect(text).toContain("# No agents, skills or plugins were found.");
  });
});
