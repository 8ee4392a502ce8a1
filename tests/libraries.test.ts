import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeProject, REPO, sabuild, sabuildJson, tempDir } from "./helpers.js";

const FIXTURES = join(REPO, "tests/fixtures/libraries");
const CONFIG = `# the team's subagents
version: 1
subagents:
  # written by hand
  helper:
    source: { inline: { description: helps, prompt: you help } }
`;

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd, encoding: "utf8" }).trim();
}

/** A library published as a git repository: a work tree to commit in, and the bare repository users clone. */
function gitLibrary(fixture: string): { work: string; bare: string; push(file: string, text: string): string } {
  const root = tempDir("sabuild-lib-git-");
  const work = join(root, "work");
  cpSync(join(FIXTURES, fixture), work, { recursive: true });
  git(work, "init", "-q", "-b", "main");
  git(work, "add", "-A");
  git(work, "commit", "-qm", "first");
  const bare = join(root, "team.git");
  git(root, "clone", "-q", "--bare", work, bare);
  return {
    work,
    bare,
    push(file, text) {
      mkdirSync(join(work, file, ".."), { recursive: true });
      writeFileSync(join(work, file), text);
      git(work, "add", "-A");
      git(work, "commit", "-qm", `add ${file}`);
      git(work, "push", "-q", bare, "main");
      return git(work, "rev-parse", "HEAD");
    },
  };
}

function project(): string {
  const dir = makeProject({ "subagents.yaml": CONFIG });
  cpSync(join(FIXTURES, "community-agents"), join(dir, "libs/community"), { recursive: true });
  cpSync(join(FIXTURES, "skills-repo"), join(dir, "libs/skills"), { recursive: true });
  return dir;
}

const statuses = (dir: string) => Object.fromEntries(sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"]).stages.map((s) => [s.id, s.status]));

describe("libraries: add, search, add a hit, build it, update", () => {
  it("two local libraries and one git library, from a fresh project to a built import; an update re-indexes only that library", () => {
    const dir = project();
    const remote = gitLibrary("marketplace");
    const first = git(remote.work, "rev-parse", "HEAD");

    const community = sabuildJson(dir, ["library", "add", "libs/community"]);
    expect(community).toMatchObject({ __code: 0, library: "community", path: "libs/community", agents: 12, skills: 0 });
    expect(sabuildJson(dir, ["library", "add", "libs/skills", "--name", "skills"])).toMatchObject({ __code: 0, skills: 10 });
    const team = sabuildJson(dir, ["library", "add", remote.bare, "--name", "team"]);
    expect(team).toMatchObject({ __code: 0, library: "team", commit: first, agents: 6, skills: 2 });

    // Recorded in subagents.yaml, the user's comments kept.
    const config = readFileSync(join(dir, "subagents.yaml"), "utf8");
    expect(config).toContain("# the team's subagents");
    expect(config).toContain("  # written by hand");
    expect(config).toMatch(new RegExp(`team:\\n    git: .*team\\.git\\n    commit: ${first}`));

    const found = sabuildJson<{ hits: { id: string; kind: string; library: string; matched: { term: string }[] }[] }>(dir, ["search", "my GitHub Actions build keeps failing", "-n", "3"]);
    expect(found.hits[0]).toMatchObject({ id: "team/ci-fixer", kind: "agent", library: "team" });
    expect(found.hits[0]!.matched.map((m) => m.term)).toEqual(expect.arrayContaining(["github", "action", "fail"]));
    const human = sabuild(dir, ["search", "web design", "--kind", "skill", "-n", "2"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ 1\. skills\/frontend-design {2}skill/);
    expect(human.stdout).toContain("matched: ");

    const added = sabuildJson(dir, ["add", "team/ci-fixer"]);
    expect(added).toMatchObject({ __code: 0, subagent: "ci-fixer", source: { plugin: "plugins/ops-kit", name: "ci-fixer", library: "team" }, commit: first, tasks: "tasks/ci-fixer.jsonl" });
    expect(readFileSync(join(dir, "tasks/ci-fixer.jsonl"), "utf8")).toBe("");
    // Only new lines: every line the user wrote is there as written.
    const edited = readFileSync(join(dir, "subagents.yaml"), "utf8").split("\n");
    for (const line of CONFIG.trimEnd().split("\n")) expect(edited).toContain(line);
    expect(sabuildJson(dir, ["add", "skills/frontend-design", "--as", "designer"])).toMatchObject({ __code: 0, subagent: "designer" });

    const build = sabuild(dir, ["build", "ci-fixer:import", "designer:import"]);
    expect(build.code, build.stderr).toBe(0);
    const spec = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "ci-fixer:import"]);
    const specFile = spec.files.find((f) => f.path === "spec.json")!;
    expect(JSON.parse(readFileSync(specFile.blob, "utf8"))).toMatchObject({ name: "ci-fixer", provenance: { format: "plugin-agent", plugin: "ops-kit" } });

    // The git library moves: only its index is rebuilt, and the import's key follows the commit.
    const before = statuses(dir);
    expect(before["ci-fixer:import"]).toBe("up-to-date");
    const second = remote.push("plugins/ops-kit/agents/flaky-test-hunter.md", "---\nname: flaky-test-hunter\ndescription: Finds tests that fail only sometimes.\n---\nRe-run the suite many times.\n");
    const updated = sabuildJson(dir, ["library", "update", "team"]);
    expect(updated).toMatchObject({ __code: 0, moved: [{ library: "team", from: first, to: second }], reindexed: ["team"] });
    expect(readFileSync(join(dir, "subagents.yaml"), "utf8")).toContain(`commit: ${second}`);
    const after = statuses(dir);
    expect(after["library/community:index"]).toBe("up-to-date");
    expect(after["library/skills:index"]).toBe("up-to-date");
    expect(after["designer:import"]).toBe("up-to-date");
    expect(after["ci-fixer:import"]).toBe("will-run");
    const explained = sabuildJson<{ changes?: unknown }>(dir, ["explain", "ci-fixer:import"]);
    expect(JSON.stringify(explained)).toContain(second);
    expect(sabuildJson(dir, ["search", "tests that fail only sometimes", "-n", "1"]).hits[0].id).toBe("team/flaky-test-hunter");
    expect(sabuildJson(dir, ["library", "update"])).toMatchObject({ moved: [], reindexed: [] });
  });

  it("a fresh clone of the project re-extracts the git library at its pinned commit", () => {
    const dir = project();
    const remote = gitLibrary("skills-repo");
    git(remote.work, "tag", "v1");
    git(remote.work, "push", "-q", remote.bare, "v1");
    expect(sabuildJson(dir, ["library", "add", remote.bare, "--name", "team", "--ref", "v1"])).toMatchObject({ __code: 0, ref: "v1" });
    expect(readFileSync(join(dir, "subagents.yaml"), "utf8")).toContain("    ref: v1");
    expect(sabuild(dir, ["add", "team/pdf"]).code).toBe(0);
    const clone = makeProject({});
    for (const f of ["subagents.yaml", "tasks", "libs"]) cpSync(join(dir, f), join(clone, f), { recursive: true });
    // The recorded path is relative to the project: the clone sits elsewhere, so point it at the repository.
    writeFileSync(join(clone, "subagents.yaml"), readFileSync(join(clone, "subagents.yaml"), "utf8").replace(/git: .*/, `git: ${remote.bare}`));
    remote.push("skills/extra/SKILL.md", "---\nname: extra\ndescription: not at the pinned commit\n---\nbody\n");
    const build = sabuild(clone, ["build", "pdf:import"]);
    expect(build.code, build.stderr).toBe(0);
    expect(sabuildJson(clone, ["search", "not at the pinned commit"]).hits.map((h: { id: string }) => h.id)).not.toContain("team/extra");
    // The tag has not moved: an update keeps the pin.
    expect(sabuildJson(clone, ["library", "update"])).toMatchObject({ __code: 0, moved: [] });
  });

  it("indexes around malformed files, warning with each one's name, and reports marketplace plugins it cannot reach", () => {
    const dir = project();
    cpSync(join(FIXTURES, "marketplace"), join(dir, "libs/market"), { recursive: true });
    const r = sabuild(dir, ["library", "add", "libs/community"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("broken/half-written.md");
    const m = sabuild(dir, ["library", "add", "libs/market", "--json"]);
    expect(m.stderr).toContain("plugins/broken-kit/.claude-plugin/plugin.json");
    const ls = sabuildJson<{ libraries: { library: string; agents: number; skills: number; warnings: { file: string }[]; unresolved: { plugin: string }[] }[] }>(dir, ["library", "ls"]);
    const market = ls.libraries.find((l) => l.library === "market")!;
    expect(market).toMatchObject({ agents: 6, skills: 2 });
    expect(market.warnings.map((w) => w.file)).toEqual(["plugins/broken-kit/.claude-plugin/plugin.json:2"]);
    expect(market.unresolved).toEqual([expect.objectContaining({ plugin: "remote-kit" })]);
    expect(ls.libraries.find((l) => l.library === "community")!.warnings.map((w) => w.file)).toEqual(["broken/half-written.md:1"]);
    // A plugin's slash commands are not agents; a broken plugin's agent files still index, as plain agents.
    const ids = sabuildJson<{ hits: { id: string }[] }>(dir, ["search", "run the linter", "-n", "20"]).hits.map((h) => h.id);
    expect(ids).not.toContain("market/lint");
    expect(sabuildJson(dir, ["search", "plugin manifest is broken", "-n", "1"]).hits[0].id).toBe("market/orphan-agent");
    // Categories, keywords and licenses come from the marketplace entry and the manifests.
    const hit = sabuildJson<{ hits: { id: string; category?: string }[] }>(dir, ["search", "wcag contrast", "-n", "1"]).hits[0]!;
    expect(hit).toMatchObject({ id: "market/accessibility-checker", category: "frontend" });
  });

  it("ranks for a set of tasks, each hit with the tasks it matched", () => {
    const dir = project();
    cpSync(join(FIXTURES, "marketplace"), join(dir, "libs/market"), { recursive: true });
    for (const lib of ["community", "market"]) expect(sabuild(dir, ["library", "add", `libs/${lib}`]).code).toBe(0);
    writeFileSync(
      join(dir, "bench.jsonl"),
      [
        { id: "ci-1", prompt: "The GitHub Actions workflow fails on the cache step; fix the pipeline" },
        { id: "ci-2", prompt: "CI is red since yesterday: the workflow matrix broke" },
        { id: "css-1", prompt: "Our stylesheets are full of duplicate CSS rules, clean them up" },
      ]
        .map((t) => JSON.stringify(t))
        .join("\n") + "\n",
    );
    const r = sabuildJson<{ tasks: number; hits: { id: string; tasks: string[]; score: number }[] }>(dir, ["search", "--for-tasks", "bench.jsonl", "-n", "3"]);
    expect(r.tasks).toBe(3);
    expect(r.hits[0]).toMatchObject({ id: "market/ci-fixer", tasks: expect.arrayContaining(["ci-1", "ci-2"]) });
    expect(r.hits.map((h) => h.id)).toContain("market/css-refactorer");
    const human = sabuild(dir, ["search", "--for-tasks", "bench.jsonl", "-n", "2"]);
    expect(human.stdout).toMatch(/for \d of 3 tasks: ci-1, ci-2/);
    // A benchmark's tasks, by its name.
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8") + "benchmarks:\n  fix:\n    tasks: { from: bench.jsonl }\n    subagents: [helper]\n");
    const bench = sabuildJson<{ tasks: number; hits: { id: string }[] }>(dir, ["search", "--for-tasks", "fix", "-n", "1", "--kind", "agent"]);
    expect(bench).toMatchObject({ tasks: 3, hits: [{ id: "market/ci-fixer" }] });
  });
});

describe("libraries: bad input", () => {
  it("names the file, line and key with a hint, never a stack trace", () => {
    const dir = project();
    expect(sabuild(dir, ["library", "add", "libs/skills"]).code).toBe(0);
    expect(sabuild(dir, ["add", "skills/pdf"]).code).toBe(0);

    const twice = sabuild(dir, ["add", "skills/pdf"]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/subagents\.yaml:\d+:\d+: subagents\.pdf\.source: skills\/pdf is already the source of subagent "pdf"/);
    expect(twice.stderr).toContain("hint: build that subagent, or pass --as <name>");
    const taken = sabuild(dir, ["add", "skills/xlsx", "--as", "pdf"]);
    expect(taken.stderr).toMatch(/subagents\.yaml:\d+:\d+: subagents\.pdf: a subagent named "pdf"/);

    const typo = sabuild(dir, ["add", "skills/pfd"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "skills/pdf"?');
    expect(sabuild(dir, ["add", "skill/pdf"]).stderr).toContain('no library "skill" (did you mean "skills"?)');

    const again = sabuild(dir, ["library", "add", "libs/skills"]);
    expect(again.stderr).toMatch(/subagents\.yaml:\d+:\d+: libraries\.skills: a library named "skills" is already declared/);
    expect(again.stderr).toContain("--name");
    const inUse = sabuild(dir, ["library", "remove", "skills"]);
    expect(inUse.code).toBe(2);
    expect(inUse.stderr).toContain("library skills is the source of pdf");

    expect(sabuild(dir, ["library", "add", "libs/nowhere"]).stderr).toContain("libs/nowhere is not a folder or a git repository");
    expect(sabuild(dir, ["library", "add", join(dir, "missing.git"), "--name", "gone"]).stderr).toContain("cannot clone");
    // Credentials in a library's URL never reach a message (git quotes the URL back).
    const creds = sabuild(dir, ["library", "add", "http://someone:s3cret-pass@127.0.0.1:9/team.git", "--name", "creds"]);
    expect(creds.code).not.toBe(0);
    expect(creds.stderr).toContain("cannot clone http://127.0.0.1:9/team.git");
    expect(creds.stdout + creds.stderr).not.toContain("s3cret-pass");
    expect(sabuild(dir, ["search", "pdf", "--kind", "robot"]).stderr).toContain("--kind robot: agent or skill");
    expect(sabuild(dir, ["search", "pdf", "--library", "skill"]).stderr).toContain('did you mean "skills"?');
    expect(sabuild(dir, ["search", "--for-tasks", "nope.jsonl"]).stderr).toContain("neither a task file nor a benchmark");

    // A source naming a library the file does not declare: the config loader's error.
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("library: skills", "library: skillz"));
    const bad = sabuild(dir, ["plan"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/subagents\.yaml:\d+:\d+: subagents\.pdf\.source\.library: unknown library "skillz"/);
    for (const r of [twice, typo, again, inUse, bad]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("says how to start when there are no libraries, and removes one that is unused", () => {
    const dir = project();
    expect(sabuild(dir, ["search", "pdf"]).stderr).toContain("sabuild library add");
    expect(sabuildJson(dir, ["library", "ls"])).toMatchObject({ libraries: [] });
    expect(sabuild(dir, ["library", "add", "libs/skills"]).code).toBe(0);
    expect(sabuildJson(dir, ["library", "remove", "skills"])).toMatchObject({ __code: 0, removed: "skills" });
    expect(readFileSync(join(dir, "subagents.yaml"), "utf8")).not.toContain("libraries");
    expect(existsSync(join(dir, "libs/skills"))).toBe(true);
  });

  it("an edit in a local library re-indexes that library and makes the import of its sources stale, nothing else", () => {
    const dir = project();
    for (const lib of ["community", "skills"]) expect(sabuild(dir, ["library", "add", `libs/${lib}`]).code).toBe(0);
    expect(sabuild(dir, ["add", "skills/pdf"]).code).toBe(0);
    expect(sabuild(dir, ["add", "community/debugger"]).code).toBe(0);
    expect(sabuild(dir, ["build", "pdf:import", "debugger:import", "helper:import", "library/community:index", "library/skills:index"]).code).toBe(0);
    writeFileSync(join(dir, "libs/skills/skills/pdf/SKILL.md"), readFileSync(join(dir, "libs/skills/skills/pdf/SKILL.md"), "utf8") + "\nAlso rotate pages.\n");
    const now = statuses(dir);
    expect(now).toMatchObject({ "library/skills:index": "will-run", "pdf:import": "will-run", "library/community:index": "up-to-date", "debugger:import": "up-to-date", "helper:import": "up-to-date" });
  });

  it("a project can start from a library: subagents.yaml is started, and its first subagent comes from a search", () => {
    const dir = tempDir("sabuild-lib-new-");
    cpSync(join(FIXTURES, "skills-repo"), join(dir, "skills"), { recursive: true });
    expect(sabuildJson(dir, ["library", "add", "skills"])).toMatchObject({ __code: 0, library: "skills", skills: 10 });
    const hit = sabuildJson<{ hits: { id: string }[] }>(dir, ["search", "pull the tables out of a pdf invoice", "-n", "1"]).hits[0]!;
    expect(sabuildJson(dir, ["add", hit.id])).toMatchObject({ __code: 0, subagent: "pdf" });
    const build = sabuild(dir, ["build", "pdf:import"]);
    expect(build.code, build.stderr).toBe(0);
    // Without libraries, a file with no subagents is still an error.
    writeFileSync(join(dir, "subagents.yaml"), "version: 1\nsubagents: {}\n");
    const bad = sabuild(dir, ["plan"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("subagents.yaml:2:12: subagents: no subagents defined");
    expect(bad.stderr).toContain("sabuild library add");
  });
});
