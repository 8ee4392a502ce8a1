import type { Problem } from "../../errors.js";
import type { SourcedTask } from "../../stages/task-files.js";

export type { TaskFormat } from "./sources.js";

/**
 * What reading one `tasks.from` entry yields: the tasks that are valid and a located problem
 * for every one that is not, so one bad instance neither hides the others nor the other problems.
 */
export interface Imported {
  tasks: SourcedTask[];
  problems: Problem[];
}

/** A problem about a file as a whole (line 0), or at a key inside it. */
export function fileProblem(file: string, message: string, extra: Partial<Problem> = {}): Problem {
  return { file, line: 0, column: 0, keyPath: [], message, ...extra };
}

const ID_CHARS = /[^\w.-]+/g;

/** An id from a name we do not choose (an instance_id, a directory name), made to fit /^[\w.-]{1,80}$/. */
export function sanitizeId(name: string): string {
  return name.replace(ID_CHARS, "-").slice(0, 80) || "task";
}
