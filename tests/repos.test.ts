import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.js";
import type { Problem } from "../src/errors.js";
import { checkoutTree, redactUrl, repoCacheDir, repoSlug, resolveCommit } from "../src/envs/git.js";
import { readSandboxRepos } from "../src/envs/repos.js";
import { repoWorkspaceListing } from "../src/envs/workspace.js";
import { tempDir } from "./helpers.js";
import { git, GIT_ENV, writeFiles } from "./support/git.js";

/** Every file under a directory, relative, sorted. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/**
 * A project holding one repository four ways: a checkout (two commits; annotated tag v1 on the
 * first, branch main on the second, branch old on the first), its bare clone, a bundle of it,
 * and the bare clone by file:// URL.
 */
let project: string;
let first: string;
let second: string;

beforeAll(() => {
  project = tempDir("sabuild-repos-");
  const src = join(project, "src");
  mkdirSync(src);
  git(src, "init", "--quiet", "--initial-branch=main");
  writeFiles(src, { "a.txt": "one\n", "sub/x.txt": "x\n" });
  git(src, "add", ".");
  git(src, "commit", "--quiet", "-m", "first");
  first = git(src, "rev-parse", "HEAD");
  git(src, "tag", "-a", "v1", "-m", "version 1");
  git(src, "branch", "old");
  writeFiles(src, { "a.txt": "two\n", "b.txt": "b\n" });
  git(src, "add", ".");
  git(src, "commit", "--quiet", "-m", "second");
  second = git(src, "rev-parse", "HEAD");
  git(project, "clone", "--quiet", "--bare", "src", "bare.git");
  git(src, "bundle", "create", "--quiet", "../x.bundle", "--all");
});

const SOURCES = ["src", "bare.git", "x.bundle", "file-url"] as const;
const repoOf = (source: (typeof SOURCES)[number]): string => (source === "file-url" ? `file://${join(project, "bare.git")}` : source);

describe.each(SOURCES)("resolveCommit on %s", (source) => {
  it("returns a full sha as is, lower-cased, without looking", async () => {
    expect(await resolveCommit(project, "does-not-exist", first.toUpperCase())).toEqual({ ok: true, value: first });
  });

  it.each([
    ["an abbreviated sha", () => first.slice(0, 8), () => first],
    ["an annotated tag, peeled to its commit", () => "v1", () => first],
    ["a branch", () => "main", () => second],
    ["another branch", () => "old", () => first],
  ])("resolves %s", async (_what, commit, expected) => {
    const cache = tempDir("sabuild-repo-cache-");
    expect(await resolveCommit(project, repoOf(source), commit(), cache)).toEqual({ ok: true, value: expected() });
  });

  it("resolves without a cache directory (what a bundle or a remote's short sha needs is fetched into a temporary repository)", async () => {
    // A copy under another name: resolveCommit remembers what it resolved for the path above.
    const copy = source === "file-url" ? "file-url-copy.git" : `copy-${source}`;
    cpSync(join(project, source === "file-url" ? "bare.git" : source), join(project, copy), { recursive: true });
    const repo = source === "file-url" ? `file://${join(project, copy)}` : copy;
    expect(await resolveCommit(project, repo, first.slice(0, 8))).toEqual({ ok: true, value: first });
    expect(await resolveCommit(project, repo, "v1")).toEqual({ ok: true, value: first });
  });

  it("names the repository and the commit when there is none", async () => {
    const r = await resolveCommit(project, repoOf(source), "no-such-branch");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(new RegExp(`^${repoOf(source)}: .*"no-such-branch".*hint: `));
  });
});

describe.each(SOURCES)("checkoutTree from %s", (source) => {
  it("writes each commit's tree, without .git", async () => {
    const cache = tempDir("sabuild-repo-cache-");
    const one = await checkoutTree(project, repoOf(source), first, cache);
    const two = await checkoutTree(project, repoOf(source), second, cache);
    if (!one.ok || !two.ok) throw new Error(`${JSON.stringify(one)} ${JSON.stringify(two)}`);
    expect(one.value).toBe(join(cache, "trees", first));
    expect(filesUnder(one.value)).toEqual(["a.txt", "sub/x.txt"]);
    expect(readFileSync(join(one.value, "a.txt"), "utf8")).toBe("one\n");
    expect(filesUnder(two.value)).toEqual(["a.txt", "b.txt", "sub/x.txt"]);
    expect(readFileSync(join(two.value, "a.txt"), "utf8")).toBe("two\n");
    expect(readdirSync(join(cache, "tmp"))).toEqual([]);
  });
});

describe("checkoutTree's cache", () => {
  it("does no git work the second time: the source may be gone", async () => {
    const cache = tempDir("sabuild-repo-cache-");
    cpSync(join(project, "x.bundle"), join(project, "gone.bundle"));
    const sha = await resolveCommit(project, "gone.bundle", "v1", cache);
    expect(sha).toEqual({ ok: true, value: first });
    const before = await checkoutTree(project, "gone.bundle", first, cache);
    expect(before.ok).toBe(true);
    rmSync(join(project, "gone.bundle"));
    rmSync(join(cache, "mirrors"), { recursive: true });
    expect(await checkoutTree(project, "gone.bundle", first, cache)).toEqual(before);
  });

  it("leaves nothing behind when the commit cannot be fetched", async () => {
    const cache = tempDir("sabuild-repo-cache-");
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const r = await checkoutTree(project, "bare.git", missing, cache);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(new RegExp(`^bare\\.git: cannot fetch commit ${missing}.*hint: `));
    expect(existsSync(join(cache, "trees", missing))).toBe(false);
    expect(existsSync(join(cache, "tmp")) ? readdirSync(join(cache, "tmp")) : []).toEqual([]);
  });

  it("asks for a full sha", async () => {
    const r = await checkoutTree(project, "bare.git", "v1", tempDir("sabuild-repo-cache-"));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain("resolveCommit");
  });

  it("says when a local repository is missing", async () => {
    const r = await resolveCommit(project, "nowhere", "main");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^nowhere: no such repository .*hint: paths are relative to the project directory/);
  });
});

describe("credentials in a URL", () => {
  // Nothing listens on port 1: git fails at once, on loopback.
  const url = "https://user:secret@127.0.0.1:1/x.git";

  it("never appear in a message or in the cache", async () => {
    const cache = tempDir("sabuild-repo-cache-");
    const messages: string[] = [];
    for (const commit of ["main", "abc1234"]) {
      const r = await resolveCommit(project, url, commit, cache);
      expect(r.ok).toBe(false);
      if (!r.ok) messages.push(r.error);
    }
    const tree = await checkoutTree(project, url, first, cache);
    expect(tree.ok).toBe(false);
    if (!tree.ok) messages.push(tree.error);
    const listing = await repoWorkspaceListing(await projectConfig([`      repos: ["${url} main"]`]), { repo: url, commit: "main" }, cache);
    expect(listing.ok).toBe(false);
    if (!listing.ok) messages.push(listing.error);
    for (const m of messages) {
      expect(m).toContain("https://127.0.0.1:1/x.git");
      expect(m).not.toContain("secret");
    }
    for (const file of filesUnder(cache)) expect(readFileSync(join(cache, file), "latin1")).not.toContain("secret");
  });

  it("are stripped by redactUrl, which leaves other strings alone", () => {
    expect(redactUrl(url)).toBe("https://127.0.0.1:1/x.git");
    expect(redactUrl("https://ghp_token@github.com/o/r.git")).toBe("https://github.com/o/r.git");
    expect(redactUrl("git@github.com:o/r.git")).toBe("git@github.com:o/r.git");
    expect(redactUrl("repos/x.bundle")).toBe("repos/x.bundle");
  });
});

describe("repoSlug", () => {
  it.each([
    ["/x/taskq.bundle", "taskq"],
    ["https://github.com/django/django.git", "django"],
    ["https://user:secret@github.com/Org/My_Repo.git/", "my_repo"],
    ["git@github.com:psf/requests.git", "requests"],
    ["bare.git", "bare"],
    ["..", "repo"],
  ])("names %s %s", (repo, slug) => {
    expect(repoSlug(repo)).toBe(slug);
    expect(slug).toMatch(/^[a-z0-9][a-z0-9_.-]*$/);
  });
});

async function projectConfig(sandbox: string[], files: Record<string, string> = {}) {
  const dir = join(project, "projects", String(Math.random()).slice(2));
  writeFiles(dir, {
    "subagents.yaml": ["version: 1", "subagents:", "  a:", "    source: {agent: agent.md}", "    sandbox:", "      recipe: python", ...sandbox, ""].join("\n"),
    "agent.md": "---\nname: a\ndescription: d\n---\nprompt\n",
    ...files,
  });
  cpSync(join(project, "x.bundle"), join(dir, "x.bundle"));
  cpSync(join(project, "bare.git"), join(dir, "bare.git"), { recursive: true });
  const loaded = await loadConfig(join(dir, "subagents.yaml"));
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  return loaded.value;
}

const brief = (p: Problem): string => `${p.file}:${p.line}:${p.column}${p.length ? `+${p.length}` : ""} ${p.keyPath.join(".")} ${p.message}`;

describe("readSandboxRepos", () => {
  it("is empty without sandbox.repos", async () => {
    const config = await projectConfig([]);
    expect(readSandboxRepos(config, config.subagents[0]!)).toEqual({ ok: true, value: [] });
  });

  it("reads a file of lines, with comments and blank lines, and the shared setup", async () => {
    const config = await projectConfig(["      repos: repos.txt", "      setup: [pip install -e .]"], {
      "repos.txt": "# the repositories\n\nx.bundle v1\n  bare.git   main   # trailing comment\nhttps://github.com/django/django.git 4.2\n",
    });
    const setup = ["pip install -e ."];
    expect(readSandboxRepos(config, config.subagents[0]!)).toEqual({
      ok: true,
      value: [
        { repo: "x.bundle", commit: "v1", recipe: "python", setup },
        { repo: "bare.git", commit: "main", recipe: "python", setup },
        { repo: "https://github.com/django/django.git", commit: "4.2", recipe: "python", setup },
      ],
    });
  });

  it("points at every bad line and missing path of the file", async () => {
    const config = await projectConfig(["      repos: repos.txt"], {
      "repos.txt": "x.bundle v1\nlonely\n# ok\n  a b c\nmissing.git main\n",
    });
    const r = readSandboxRepos(config, config.subagents[0]!);
    if (r.ok) throw new Error("expected problems");
    expect(r.error.map(brief)).toEqual([
      "repos.txt:2:1+6  a repository without a commit",
      "repos.txt:4:3+5  3 fields where a repository and a commit were expected",
      "repos.txt:5:1+11  repository missing.git not found",
    ]);
    expect(r.error[0]!.sourceLine).toBe("lonely");
  });

  it("says when the file is missing, at the config key", async () => {
    const config = await projectConfig(["      repos: nope.txt"]);
    const r = readSandboxRepos(config, config.subagents[0]!);
    if (r.ok) throw new Error("expected problems");
    expect(r.error.map(brief)).toEqual(["subagents.yaml:0:0 subagents.a.sandbox.repos repos file nope.txt not found"]);
  });

  it("reads the list forms, each repository's setup after the shared one", async () => {
    const config = await projectConfig([
      "      setup: [make]",
      "      repos:",
      "        - x.bundle v1",
      "        - {url: bare.git, commit: main, setup: [make test-deps]}",
      "        - {url: gone.git, commit: main}",
      "        - gone2 abc123",
    ]);
    const r = readSandboxRepos(config, config.subagents[0]!);
    if (r.ok) throw new Error("expected problems");
    expect(r.error.map(brief)).toEqual([
      "subagents.yaml:0:0 subagents.a.sandbox.repos.2 repository gone.git not found",
      "subagents.yaml:0:0 subagents.a.sandbox.repos.3 repository gone2 not found",
    ]);
    const good = await projectConfig(["      setup: [make]", "      repos:", "        - x.bundle v1", "        - {url: bare.git, commit: main, setup: [make test-deps]}"]);
    expect(readSandboxRepos(good, good.subagents[0]!)).toEqual({
      ok: true,
      value: [
        { repo: "x.bundle", commit: "v1", recipe: "python", setup: ["make"] },
        { repo: "bare.git", commit: "main", recipe: "python", setup: ["make", "make test-deps"] },
      ],
    });
  });
});

describe("repoWorkspaceListing", () => {
  it("lists the repository's files at the commit", async () => {
    const config = await projectConfig([]);
    const cache = repoCacheDir(config.store);
    expect(cache).toBe(join(config.root, "cache", "repos"));
    expect(await repoWorkspaceListing(config, { repo: "bare.git", commit: "v1" }, cache)).toEqual({ ok: true, value: { source: `bare.git@${first.slice(0, 12)}`, files: ["a.txt", "sub/x.txt"] } });
    expect(await repoWorkspaceListing(config, { repo: "x.bundle", commit: "main" }, cache)).toEqual({ ok: true, value: { source: `x.bundle@${second.slice(0, 12)}`, files: ["a.txt", "b.txt", "sub/x.txt"] } });
    expect(statSync(join(cache, "trees", first)).isDirectory()).toBe(true);
  });
});
