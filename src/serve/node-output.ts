import { selectNodes } from "../engine/graph.js";
import { planNodes } from "../engine/plan.js";
import type { Session } from "../project.js";

/** A node's output for the current inputs, or why there is none (what serving does then is the caller's choice). */
export async function nodeOutput(session: Session, id: string): Promise<{ dir: string; digest: string } | string> {
  const { selected } = selectNodes(session.nodes, [id]);
  const { evals } = await planNodes(session.env, selected);
  const e = evals.get(id);
  if (!e || !("hit" in e) || !e.hit) return `${id} has no output for its current inputs: run \`sabuild build ${id}\``;
  return { dir: await session.store.cas.materialize(e.hit.output), digest: e.hit.output };
}
