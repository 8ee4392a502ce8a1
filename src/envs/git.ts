import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { devNull, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { err, ok, type Result } from "../result.js";
import { tempName } from "../store/atomic.js";

/**
 * Repositories of `RepoEnv`s, fetched on the host with the user's `git` (so their credential
 * helpers and ssh keys apply), never inside a sandbox. Layout of the cache directory:
 *   mirrors/<slug>-<hash>/  a bare repository per source, fetched into (shallow when it can be)
 *   trees/<sha>/            the tree of a commit, without .git: what a sandbox image copies
 *   tmp/                    trees being written, renamed into trees/ when complete
 * Credentials in a URL are used for the fetch only: every message and name is redacted.
 */

/** The repository cache in the local store (`project.store`, the `store:` key of subagents.yaml). */
export function repoCacheDir(storeRoot: string): string {
  return join(storeRoot, "repos");
}

type RepoSource = { kind: "remote"; url: string } | { kind: "bundle"; path: string } | { kind: "local"; path: string };

const FULL_SHA = /^[0-9a-f]{40}$/i;
const SHA_PREFIX = /^[0-9a-f]{4,39}$/i;

/** git's own rule: a URL with a scheme, or scp-like `[user@]host:path` (a colon before any slash). */
export function isRemoteRepo(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || (/^[^/\\]+:/.test(repo) && !/^[a-z]:[\\/]/i.test(repo));
}

function repoSource(projectRoot: string, repo: string): RepoSource {
  if (isRemoteRepo(repo)) return { kind: "remote", url: repo };
  const path = resolve(projectRoot, repo);
  const isFile = existsSync(path) && statSync(path).isFile();
  return isFile || repo.endsWith(".bundle") ? { kind: "bundle", path } : { kind: "local", path };
}

/** What git fetches from: the URL as written (with its credentials), else the absolute path. */
const fetchArg = (s: RepoSource): string => (s.kind === "remote" ? s.url : s.path);
/** What names a source in the cache and in memos: never its credentials. */
const sourceId = (s: RepoSource): string => (s.kind === "remote" ? redactUrl(s.url) : s.path);

/** Strips `user:password@` (or a token's `token@`) from a URL; other strings pass unchanged. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1");
}

/** git's output may quote the URL it was given, or the decoded password: neither leaves here. */
export function redactText(text: string, repo: string): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#\s'"]*@/gi, "$1");
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(repo)?.[1];
  if (userinfo) {
    const colon = userinfo.indexOf(":");
    const secret = colon >= 0 ? userinfo.slice(colon + 1) : userinfo;
    for (const s of new Set([secret, safeDecode(secret)])) if (s) out = out.split(s).join("***");
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A short readable name for ids and image tags: "django" from ".../django/django.git". */
export function repoSlug(repo: string): string {
  const last = redactUrl(repo).replace(/[/\\]+$/, "").split(/[/\\:]/).pop() ?? "";
  const name = last
    .replace(/\.(git|bundle)$/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "");
  return name || "repo";
}

interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Set inside a git hook, these would point our git commands at the caller's repository. */
const CALLER_REPO_VARS = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_PREFIX", "GIT_QUARANTINE_PATH"];

/**
 * Runs git with stdout and stderr apart (toolchain/process.ts merges them into one tail) and
 * without the caller's repository variables; it never prompts: a missing credential is an error.
 */
function runGit(args: string[], env: Record<string, string> = {}): Promise<GitRun> {
  const base = { ...process.env };
  for (const name of CALLER_REPO_VARS) delete base[name];
  return new Promise((done) => {
    const child = spawn("git", args, { env: { ...base, GIT_TERMINAL_PROMPT: "0", GCM_INTERACTIVE: "never", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => errOut.push(d));
    child.on("error", (e: NodeJS.ErrnoException) => done({ code: null, stdout: "", stderr: e.code === "ENOENT" ? "git not found on PATH" : e.message }));
    child.on("close", (code) => done({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString() }));
  });
}

/** `<repo>: <what> (git: <its last lines>); hint: <hint>`, credentials redacted. */
function failure(repo: string, what: string, hint: string, run?: GitRun): string {
  const said = run ? run.stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ") : "";
  return redactText(`${repo}: ${what}${said ? ` (git: ${said})` : ""}; hint: ${hint}`, repo);
}

const REMOTE_HINT = "check the URL, and that `git ls-remote <url>` works with your git credentials (credential helper or ssh key)";

const resolved = new Map<string, Promise<Result<string, string>>>();

/**
 * The full sha `commit` (a sha, abbreviated or not, a tag or a branch) names in `repo`. Memoised
 * per process (failures are not, so a fixed network is tried again). `cacheDir` (repoCacheDir)
 * keeps what resolving a bundle or an abbreviated sha on a remote fetched, for checkoutTree;
 * without it that fetch goes to a temporary repository.
 */
export function resolveCommit(projectRoot: string, repo: string, commit: string, cacheDir?: string): Promise<Result<string, string>> {
  if (FULL_SHA.test(commit)) return Promise.resolve(ok(commit.toLowerCase()));
  const source = repoSource(projectRoot, repo);
  const key = `${sourceId(source)}\0${commit}`;
  let pending = resolved.get(key);
  if (!pending) {
    pending = resolveUncached(source, repo, commit, cacheDir);
    resolved.set(key, pending);
    void pending.then((r) => r.ok || resolved.delete(key));
  }
  return pending;
}

async function resolveUncached(source: RepoSource, repo: string, commit: string, cacheDir: string | undefined): Promise<Result<string, string>> {
  if (source.kind !== "remote" && !existsSync(source.path)) return err(failure(repo, `no such repository (${source.path})`, "paths are relative to the project directory"));
  if (source.kind === "local") {
    // The ceiling keeps git from finding an enclosing repository when the path is not one.
    const run = await runGit(["-C", source.path, "rev-parse", "--verify", "--end-of-options", `${commit}^{commit}`], { GIT_CEILING_DIRECTORIES: dirname(source.path) });
    if (run.code === 0) return ok(run.stdout.trim());
    return err(failure(repo, `no commit "${commit}"`, `name a sha, tag or branch of that repository (git -C ${source.path} log ${commit})`, run));
  }
  const listed = await runGit(["ls-remote", fetchArg(source)]);
  if (listed.code !== 0) return err(failure(repo, `cannot list the refs to resolve "${commit}"`, source.kind === "remote" ? REMOTE_HINT : "is it a git bundle? (git bundle verify)", listed));
  const ref = matchRef(parseRefs(listed.stdout), commit);
  // A server peels annotated tags; a bundle does not, so its refs are peeled in a fetched copy.
  if (ref && (source.kind === "remote" || ref.peeled)) return ok(ref.peeled ?? ref.sha);
  if (!ref && !SHA_PREFIX.test(commit)) return err(failure(repo, `no branch, tag or commit "${commit}"`, "name a sha, tag or branch the repository has (git ls-remote lists them)"));
  return inFetchedCopy(source, repo, cacheDir, async (mirror) => {
    const fetched = await fetchAll(mirror, source);
    if (fetched.code !== 0) return err(failure(repo, `cannot fetch to resolve "${commit}"`, source.kind === "remote" ? REMOTE_HINT : "is it a git bundle? (git bundle verify)", fetched));
    const run = await runGit(["--git-dir", mirror, "rev-parse", "--verify", "--end-of-options", `${ref?.sha ?? commit}^{commit}`]);
    if (run.code === 0) return ok(run.stdout.trim());
    return err(failure(repo, `no commit "${commit}"`, "an abbreviated sha must name a commit on a branch or tag, uniquely; give the full sha", run));
  });
}

interface RemoteRef {
  sha: string;
  /** The commit an annotated tag points at (ls-remote's `^{}` line). */
  peeled?: string;
}

function parseRefs(text: string): Map<string, RemoteRef> {
  const refs = new Map<string, RemoteRef>();
  for (const line of text.split("\n")) {
    const [sha, name] = line.split("\t");
    if (!sha || !name) continue;
    if (name.endsWith("^{}")) {
      const base = refs.get(name.slice(0, -3));
      if (base) base.peeled = sha;
    } else refs.set(name, { sha });
  }
  return refs;
}

/** In the order `git rev-parse` tries a name: tags before branches. */
function matchRef(refs: Map<string, RemoteRef>, name: string): RemoteRef | undefined {
  for (const candidate of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`]) {
    const ref = refs.get(candidate);
    if (ref) return ref;
  }
  return undefined;
}

async function inFetchedCopy<T>(source: RepoSource, repo: string, cacheDir: string | undefined, work: (mirror: string) => Promise<Result<T, string>>): Promise<Result<T, string>> {
  if (cacheDir) {
    const mirror = await ensureMirror(cacheDir, source);
    return mirror.ok ? exclusive(mirror.value, () => work(mirror.value)) : mirror;
  }
  const dir = await mkdtemp(join(tmpdir(), "sabuild-resolve-"));
  try {
    const init = await runGit(["init", "--bare", "--quiet", dir]);
    return init.code === 0 ? await work(dir) : err(failure(repo, "cannot create a temporary repository", "is git installed?", init));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every branch and tag, under their own names (a mirror holds one source); deep if it was shallow. */
async function fetchAll(mirror: string, source: RepoSource): Promise<GitRun> {
  const shallow = await runGit(["--git-dir", mirror, "rev-parse", "--is-shallow-repository"]);
  const unshallow = shallow.stdout.trim() === "true" ? ["--unshallow"] : [];
  return runGit(["--git-dir", mirror, "fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head", ...unshallow, fetchArg(source), "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]);
}

/** Fetches into one mirror go one at a time: git's ref and shallow locks fail rather than wait. */
const mirrorQueue = new Map<string, Promise<unknown>>();

function exclusive<T>(mirror: string, work: () => Promise<T>): Promise<T> {
  const next = (mirrorQueue.get(mirror) ?? Promise.resolve()).then(work, work);
  mirrorQueue.set(mirror, next.catch(() => undefined));
  return next;
}

async function ensureMirror(cacheDir: string, source: RepoSource): Promise<Result<string, string>> {
  const id = sourceId(source);
  const dir = join(cacheDir, "mirrors", `${repoSlug(id)}-${createHash("sha256").update(id).digest("hex").slice(0, 16)}`);
  if (existsSync(dir)) return ok(dir);
  await mkdir(dirname(dir), { recursive: true });
  const tmp = tempName(dirname(dir));
  const init = await runGit(["init", "--bare", "--quiet", tmp]);
  if (init.code !== 0) return err(failure(id, "cannot create the repository cache", `is ${cacheDir} writable?`, init));
  try {
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  return ok(dir);
}

const trees = new Map<string, Promise<Result<string, string>>>();

/**
 * A directory holding the tree of `sha` (a full sha: resolveCommit first), without .git, cached
 * under `cacheDir` by sha: a later call does no git work. Written beside its place and renamed,
 * so an interrupted fetch never leaves half a tree.
 */
export function checkoutTree(projectRoot: string, repo: string, sha: string, cacheDir: string): Promise<Result<string, string>> {
  if (!FULL_SHA.test(sha)) return Promise.resolve(err(failure(repo, `"${sha}" is not a full commit sha`, "resolve it with resolveCommit first")));
  const dir = join(cacheDir, "trees", sha.toLowerCase());
  if (existsSync(dir)) return Promise.resolve(ok(dir));
  let pending = trees.get(dir);
  if (!pending) {
    pending = writeTree(repoSource(projectRoot, repo), repo, sha.toLowerCase(), cacheDir, dir).finally(() => trees.delete(dir));
    trees.set(dir, pending);
  }
  return pending;
}

async function writeTree(source: RepoSource, repo: string, sha: string, cacheDir: string, dir: string): Promise<Result<string, string>> {
  if (source.kind !== "remote" && !existsSync(source.path)) return err(failure(repo, `no such repository (${source.path})`, "paths are relative to the project directory"));
  return inFetchedCopy(source, repo, cacheDir, async (mirror) => {
    const fetched = await fetchCommit(mirror, source, repo, sha);
    if (!fetched.ok) return fetched;
    await mkdir(join(cacheDir, "tmp"), { recursive: true });
    const tmp = tempName(join(cacheDir, "tmp"), "tree");
    const index = `${tmp}.index`;
    // Without the user's config: their filters (LFS smudge) and autocrlf would change the tree.
    const env = { GIT_INDEX_FILE: index, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: devNull };
    const git = ["--git-dir", mirror, "--work-tree", tmp];
    try {
      await mkdir(tmp);
      const read = await runGit([...git, "read-tree", sha], env);
      const written = read.code === 0 ? await runGit([...git, "checkout-index", "--all", "--force"], env) : read;
      if (written.code !== 0) return err(failure(repo, `cannot write the tree of ${sha}`, `is ${cacheDir} writable?`, written));
      await mkdir(dirname(dir), { recursive: true });
      try {
        await rename(tmp, dir);
      } catch (e) {
        if (!existsSync(dir)) throw e; // another process wrote the same tree first
      }
      return ok(dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
      await rm(index, { force: true });
    }
  });
}

/** Shallow at the commit when the server grants a sha want; else every branch and tag. */
async function fetchCommit(mirror: string, source: RepoSource, repo: string, sha: string): Promise<Result<void, string>> {
  const has = async (): Promise<boolean> => (await runGit(["--git-dir", mirror, "cat-file", "-e", `${sha}^{commit}`])).code === 0;
  if (await has()) return ok(undefined);
  const shallow = await runGit(["--git-dir", mirror, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--depth=1", fetchArg(source), `+${sha}:refs/sabuild/${sha}`]);
  if (shallow.code === 0 && (await has())) return ok(undefined);
  const full = await fetchAll(mirror, source);
  if (full.code === 0 && (await has())) return ok(undefined);
  const hint = source.kind === "remote" ? `check the commit exists there; ${REMOTE_HINT}` : "check the commit exists in that repository";
  return err(failure(repo, `cannot fetch commit ${sha}`, hint, full.code !== 0 ? full : shallow));
}
