import { spawn } from "node:child_process";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { sha256 } from "../engine/key.js";
import { redactText } from "../envs/git.js";
import { err, ok, type Result } from "../result.js";

/**
 * Git libraries live in the store: one bare mirror per URL (`libraries/git/<url digest>.git`)
 * and one extracted tree per commit (`libraries/trees/<commit>`), which is what the index and
 * the import stage read. Both are remade from the URL and the pinned commit when missing (a
 * fresh clone, after `sabuild clean`), so subagents.yaml is all a project needs to carry.
 * The host's git does the work: it speaks every transport and credential helper users have.
 */

export const mirrorDir = (store: string, url: string): string => join(store, "libraries", "git", `${sha256(url).slice(0, 24)}.git`);
export const treeDir = (store: string, commit: string): string => join(store, "libraries", "trees", commit);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function git(args: string[], cwd?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn("git", args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: `cannot run git: ${e.message}` }));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A temp name no other extraction of this or another process uses (the index and an import may extract one commit at once). */
const unique = () => `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const exists = (path: string) => stat(path).then(() => true, () => false);
/** An error naming the URL: credentials in it (or quoted back by git) never leave here. */
const failed = (url: string, message: string) => err(redactText(message, url));
const why = (r: Ran) => r.stderr.trim().split("\n").pop() || `git exited with ${r.code}`;

/** The URL's mirror, cloned when missing or fetched again when `refresh` (library add, update). */
async function mirror(store: string, url: string, refresh: boolean): Promise<Result<string, string>> {
  const dir = mirrorDir(store, url);
  if (await exists(dir)) {
    if (!refresh) return ok(dir);
    const r = await git(["--git-dir", dir, "fetch", "--quiet", "--prune", "--force", "origin", "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]);
    return r.code === 0 ? ok(dir) : failed(url, `cannot fetch ${url}: ${why(r)}`);
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${unique()}`;
  await rm(tmp, { recursive: true, force: true });
  const r = await git(["clone", "--bare", "--quiet", url, tmp]);
  if (r.code !== 0) return (await rm(tmp, { recursive: true, force: true }), failed(url, `cannot clone ${url}: ${why(r)}`));
  await rename(tmp, dir).catch(async () => rm(tmp, { recursive: true, force: true }));
  return ok(dir);
}

/** The commit `ref` (default: the repository's default branch) names now, after fetching. */
export async function resolveRef(store: string, url: string, ref: string | undefined): Promise<Result<string, string>> {
  const dir = await mirror(store, url, true);
  if (!dir.ok) return dir;
  const r = await git(["--git-dir", dir.value, "rev-parse", "--verify", "--quiet", `${ref ?? "HEAD"}^{commit}`]);
  if (r.code !== 0) return failed(url, `${url} has no ${ref ? `branch, tag or commit "${ref}"` : "default branch"}`);
  return ok(r.stdout.trim());
}

/** The library's files at `commit`, extracted into the store once and reused after. */
export async function checkout(store: string, url: string, commit: string): Promise<Result<string, string>> {
  const tree = treeDir(store, commit);
  if (await exists(tree)) return ok(tree);
  let dir = await mirror(store, url, false);
  if (!dir.ok) return dir;
  const has = async (d: string) => (await git(["--git-dir", d, "cat-file", "-e", `${commit}^{commit}`])).code === 0;
  if (!(await has(dir.value))) {
    dir = await mirror(store, url, true);
    if (!dir.ok) return dir;
    if (!(await has(dir.value))) return failed(url, `${url} has no commit ${commit}`);
  }
  const tmp = `${tree}.tmp-${unique()}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  // A worktree-less extraction: no .git inside, so nothing in the tree can drift from the commit.
  const r = await extract(dir.value, commit, tmp);
  if (r.code !== 0) return (await rm(tmp, { recursive: true, force: true }), failed(url, `cannot extract ${commit} of ${url}: ${why(r)}`));
  await rename(tmp, tree).catch(async () => rm(tmp, { recursive: true, force: true }));
  return ok(tree);
}

function extract(gitDir: string, commit: string, into: string): Promise<Ran> {
  const archive = spawn("git", ["--git-dir", gitDir, "archive", "--format=tar", commit], { stdio: ["ignore", "pipe", "pipe"] });
  const tar = spawn("tar", ["-x", "-C", into], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  const ended = (child: ReturnType<typeof spawn>) =>
    new Promise<number>((resolve) => {
      child.stderr?.on("data", (d) => (stderr += d));
      child.on("error", (e) => (stderr += e.message));
      child.on("close", (code) => resolve(code ?? -1));
    });
  archive.stdout.pipe(tar.stdin);
  return Promise.all([ended(archive), ended(tar)]).then(([a, t]) => ({ code: a || t, stdout: "", stderr }));
}
