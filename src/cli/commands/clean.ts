import { rm } from "node:fs/promises";
import { join } from "node:path";
import { selectNodes } from "../../engine/graph.js";
import { planNodes } from "../../engine/plan.js";
import { openProject } from "../../project.js";
import { acquireStoreLock } from "../store-lock.js";
import { parseCommandArgs } from "../args.js";
import { printJson } from "../output.js";

export const cleanHelp = `sabuild clean [targets] [--json]
  Without targets: deletes the whole store (sabuild.lock stays). With targets: forgets the
  stored results of those stages (and their map items), so the next build runs them again.`;

export async function cleanCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("clean", argv, {});
  if (args.help) return (console.log(cleanHelp), 0);
  const session = await openProject(args.global);
  const lock = await acquireStoreLock(session.store.root, "clean");
  try {
    if (args.positionals.length === 0) {
      for (const part of ["cas", "ac", "trees", "tmp", "builds", "logs", "verified", "stat-cache.json"]) await rm(join(session.store.root, part), { recursive: true, force: true });
      if (args.global.json) printJson({ removed: session.store.root });
      else console.log(`removed the store at ${session.store.root}`);
      return 0;
    }
    const { selected, named } = selectNodes(session.nodes, args.positionals);
    const { evals } = await planNodes(session.env, selected);
    const removed: string[] = [];
    for (const id of named) {
      const e = evals.get(id);
      if (!e || !("key" in e)) continue;
      const result = await session.store.ac.get(e.key);
      for (const item of result?.items ?? []) await session.store.ac.delete(item.key);
      if (result) {
        await session.store.ac.delete(e.key);
        removed.push(id);
      }
    }
    if (args.global.json) printJson({ removed });
    else console.log(removed.length ? `forgot the results of ${removed.join(", ")}` : "nothing stored for those targets");
    return 0;
  } finally {
    await lock.release();
  }
}
