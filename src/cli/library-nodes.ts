import { availableParallelism } from "node:os";
import { relative } from "node:path";
import { describeFailure } from "../engine/events.js";
import { UserInputError } from "../errors.js";
import type { Session } from "../project.js";
import { runBuild } from "./commands/build.js";

/** What the library commands read of a built node: its status this run and its output folder. */
export interface BuiltNode {
  id: string;
  status: string;
  dir: string;
}

/**
 * Builds library nodes (and what they need) without a progress view: the commands print their
 * own results, and a library's skipped files still reach stderr as warnings when it is indexed.
 * A node that cannot be built is bad input (a missing folder, an unreachable repository).
 */
export async function buildLibraryNodes(session: Session, targets: string[], command: string): Promise<Map<string, BuiltNode>> {
  const summary = await runBuild(session, { targets, jobs: availableParallelism(), locked: false, json: true, verbose: false }, command);
  const failed = summary.outcomes.filter((o) => o.failure);
  const problems = failed.flatMap((o) => (o.failure?.reason === "inputs" ? o.failure.problems : []));
  // Problems of a node's inputs are about subagents.yaml (a library's path): named after it.
  if (problems.length) throw new UserInputError(relative(process.cwd(), session.project.file) || session.project.file, problems);
  const first = failed.find((o) => o.failure?.reason !== "upstream") ?? failed[0];
  if (first?.failure) throw new UserInputError(`cannot index the libraries: ${first.id}: ${describeFailure(first.failure)}`);
  const built = new Map<string, BuiltNode>();
  for (const o of summary.outcomes) if (o.output) built.set(o.id, { id: o.id, status: o.status, dir: await session.store.cas.materialize(o.output) });
  return built;
}
