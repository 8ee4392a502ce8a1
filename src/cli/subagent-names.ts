import { relative } from "node:path";
import type { ProjectConfig } from "../config/index.js";
import { UserInputError, didYouMean } from "../errors.js";

// Subagent and benchmark names as commands take them: checked against the config, with a guess for a typo.

/** The subagents a command names (all of them when it names none); an unknown name is bad input. */
export function namedSubagents(project: ProjectConfig, wanted: string[]): string[] {
  const names = project.subagents.map((s) => s.name);
  for (const n of wanted) {
    if (names.includes(n)) continue;
    const guess = didYouMean(n, names);
    throw new UserInputError(`no subagent "${n}" in ${relative(process.cwd(), project.file) || project.file}${guess ? ` (did you mean "${guess}"?)` : ""}; subagents: ${names.join(", ")}`);
  }
  return wanted.length ? wanted : names;
}

/** The benchmarks a command names (all of them when it names none); an unknown name is bad input. */
export function namedBenchmarks(project: ProjectConfig, wanted: string[]): string[] {
  const declared = project.benchmarks.map((b) => b.name);
  for (const name of wanted) {
    if (declared.includes(name)) continue;
    const guess = didYouMean(name, declared);
    throw new UserInputError(`no benchmark named "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}; declared: ${declared.join(", ") || "none"}`);
  }
  return wanted.length ? wanted : declared;
}
