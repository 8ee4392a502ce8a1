import { UserInputError } from "../../errors.js";
import { selectNodes } from "../../engine/graph.js";
import { planNodes } from "../../engine/plan.js";
import { openProject } from "../../project.js";
import { parseCommandArgs } from "../args.js";
import { formatBytes, printJson } from "../output.js";

export const artifactsHelp = `sabuild artifacts <subagent>:<stage> [--json]
  Lists the stage's output files: path, digest, size and where the blob lies in the store.`;

export async function artifactsCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("artifacts", argv, {});
  if (args.help) return (console.log(artifactsHelp), 0);
  const target = args.positionals[0];
  if (!target || !target.includes(":") || args.positionals.length > 1) throw new UserInputError("sabuild artifacts takes one target <subagent>:<stage>");
  const session = await openProject(args.global);
  const { selected } = selectNodes(session.nodes, [target]);
  const { evals } = await planNodes(session.env, selected);
  const e = evals.get(target)!;
  if (!("hit" in e) || !e.hit) {
    throw new UserInputError(`${target} has no output for its current inputs (${e.status}); run \`sabuild build ${target}\` first`);
  }
  const cas = session.store.cas;
  const manifest = await cas.readManifest(e.hit.output);
  const tree = await cas.materialize(e.hit.output);
  const files = manifest.entries.map((f) => ({ path: f.path, digest: f.digest, size: f.size, blob: cas.blobPath(f.digest) }));
  if (args.global.json) {
    printJson({ id: target, key: e.key, output: e.hit.output, tree, files });
    return 0;
  }
  console.log(`${target}  output ${e.hit.output.slice(0, 12)}  tree ${tree}`);
  const width = Math.max(0, ...files.map((f) => f.path.length));
  for (const f of files) console.log(`  ${f.path.padEnd(width)}  ${f.digest.slice(0, 12)}  ${formatBytes(f.size).padStart(10)}  ${f.blob}`);
  return 0;
}
