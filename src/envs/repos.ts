import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { configName } from "../stages/config-name.js";
import { isRemoteRepo } from "./git.js";
import type { RepoEnv } from "./types.js";

/**
 * The environments of `sandbox.repos`: one RepoEnv per repository, on the subagent's recipe,
 * with `sandbox.setup` run first and then the repository's own setup. The repositories are
 * read as written (no git here): resolving commits and fetching is the sandbox stage's work.
 */
export function readSandboxRepos(project: ProjectConfig, subagent: ResolvedSubagent): Result<RepoEnv[], Problem[]> {
  const { repos, setup, recipe } = subagent.sandbox;
  if (repos === undefined) return ok([]);
  const keyPath = ["subagents", subagent.name, "sandbox", "repos"];
  const entries: RepoEntry[] = [];
  const problems: Problem[] = [];
  if (typeof repos === "string") {
    const read = readReposFile(project.root, repos);
    if (!read.ok) problems.push({ file: configName(project), line: 0, column: 0, keyPath, message: read.error, hint: "a file of `<git URL or path> <commit>` lines, relative to the project directory" });
    else {
      entries.push(...read.value.entries);
      problems.push(...read.value.problems);
    }
  } else {
    repos.forEach((item, i) => {
      const at: Omit<Problem, "message"> = { file: configName(project), line: 0, column: 0, keyPath: [...keyPath, i] };
      if (typeof item === "string") {
        const [repo = "", commit = ""] = item.trim().split(/\s+/);
        entries.push({ repo, commit, at });
      } else entries.push({ repo: item.url, commit: item.commit, ...(item.setup ? { setup: item.setup } : {}), at });
    });
  }
  for (const e of entries) {
    if (!isRemoteRepo(e.repo) && !existsSync(resolve(project.root, e.repo))) {
      problems.push({ ...e.at, message: `repository ${e.repo} not found`, hint: "a git URL, or a checkout, bare repository or bundle file relative to the project directory" });
    }
  }
  if (problems.length) return err(problems);
  return ok(
    entries.map((e) => {
      const commands = [...setup, ...(e.setup ?? [])];
      return { repo: e.repo, commit: e.commit, recipe, ...(commands.length ? { setup: commands } : {}) };
    }),
  );
}

interface RepoEntry {
  repo: string;
  commit: string;
  setup?: string[];
  /** Where a problem with this entry points: the repos file's line and the repository's column, or the config key. */
  at: Omit<Problem, "message">;
}

const EXPECTED = '"<git URL or path> <commit>"';

/** `<url or path> <commit>` lines; `#` starts a comment (at a line's start or after a space). */
function readReposFile(root: string, rel: string): Result<{ entries: RepoEntry[]; problems: Problem[] }, string> {
  let text: string;
  try {
    text = readFileSync(resolve(root, rel), "utf8");
  } catch (e) {
    return err((e as NodeJS.ErrnoException).code === "ENOENT" ? `repos file ${rel} not found` : `cannot read the repos file ${rel}: ${(e as Error).message}`);
  }
  const entries: RepoEntry[] = [];
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((sourceLine, i) => {
    const content = sourceLine.replace(/(^|\s)#.*$/, "").trimEnd();
    const fields = [...content.matchAll(/\S+/g)];
    if (fields.length === 0) return;
    const first = fields[0]!;
    const column = first.index + 1;
    const at = { file: rel, line: i + 1, column, keyPath: [], sourceLine };
    if (fields.length !== 2) {
      const message = fields.length === 1 ? "a repository without a commit" : `${fields.length} fields where a repository and a commit were expected`;
      problems.push({ ...at, length: content.length - first.index, message, expected: EXPECTED });
      return;
    }
    entries.push({ repo: first[0], commit: fields[1]![0], at: { ...at, length: first[0].length } });
  });
  return ok({ entries, problems });
}
