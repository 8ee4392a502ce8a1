import { resolve } from "node:path";
import type { Parsed } from "../cli/args.js";
import { formatBytes, printJson } from "../cli/output.js";
import { acquireStoreLock } from "../cli/store-lock.js";
import { UserInputError } from "../errors.js";
import type { Session } from "../project.js";
import { collectResults } from "./collect.js";
import { checkBundle, importBundle } from "./import.js";
import { writeBundle } from "./write.js";

/** `sabuild cache export [targets] -o FILE`: the targets' current results into a tar bundle. */
export async function exportCommand(session: Session, args: Parsed): Promise<number> {
  const output = args.values.output;
  if (typeof output !== "string" || output === "") throw new UserInputError("sabuild cache export needs -o/--output FILE (the tar bundle to write)");
  const file = resolve(output);
  const collection = await collectResults(session, args.positionals);
  const { stages } = collection;
  if (stages.length === 0) {
    const why = collection.skipped.map((s) => `${s.id} (${s.status})`).join(", ");
    throw new UserInputError(`nothing to export: no selected stage has an output for its current inputs${why ? `: ${why}` : ""}; run \`sabuild build\` first`);
  }
  const written = await writeBundle(session.store, collection.results, file);
  if (args.global.json) {
    printJson({
      ok: true,
      file,
      ...written,
      stages,
      skipped: collection.skipped,
      missingItems: collection.missingItems,
    });
    return 0;
  }
  for (const s of stages) console.log(`  ${s.id.padEnd(40)} ${s.key.slice(0, 12)}${s.items ? `  ${s.items} items` : ""}`);
  const stale = collection.skipped.filter((s) => s.status !== "unavailable");
  const unavailable = collection.skipped.length - stale.length;
  if (stale.length) console.log(`skipped, no output for their current inputs: ${stale.map((s) => `${s.id} (${s.status})`).join(", ")}`);
  if (unavailable) console.log(`skipped ${unavailable} stages that this version does not provide`);
  if (collection.missingItems.length) console.log(`note: ${collection.missingItems.length} item results are gone from the store and were left out (their items rerun when the stage does)`);
  console.log(`exported ${stages.length} stages (${written.results} results, ${written.blobs} blobs, ${formatBytes(written.blobBytes)}) to ${output}`);
  return 0;
}

/** `sabuild cache import FILE`: adds a bundle's results to the store, after checking it all. */
export async function importCommand(session: Session, args: Parsed): Promise<number> {
  if (args.positionals.length !== 1) throw new UserInputError("sabuild cache import takes one bundle file");
  const file = resolve(args.positionals[0]!);
  await checkBundle(file);
  const lock = await acquireStoreLock(session.store.root, "cache import");
  try {
    const report = await importBundle(session.store, file);
    if (args.global.json) printJson({ ok: true, file, store: session.store.root, ...report });
    else {
      console.log(`imported ${report.results.imported} results (${report.results.present} already in the store)`);
      console.log(`added ${report.blobs.added} blobs (${formatBytes(report.bytes)}); ${report.blobs.present} were already in the store`);
    }
    return 0;
  } finally {
    await lock.release();
  }
}
