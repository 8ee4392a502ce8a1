import { relative } from "node:path";
import type { ProjectConfig } from "../config/index.js";
import { UserInputError, didYouMean } from "../errors.js";

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
