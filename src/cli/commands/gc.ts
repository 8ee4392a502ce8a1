import { join } from "node:path";
import { collectGarbage } from "../../store/gc.js";
import { acquireStoreLock } from "../store-lock.js";
import { openProject } from "../../project.js";
import { parseCommandArgs, parseSize, positiveInt } from "../args.js";
import { formatBytes, printJson } from "../output.js";

export const gcHelp = `sabuild gc [--keep-builds N] [--max-size SIZE] [--dry-run] [--json]
  Deletes results and blobs that neither sabuild.lock nor the last N builds (default 5) reference.
  With --max-size (e.g. 20G), other results are kept too, most recently used first, up to the cap.`;

export async function gcCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("gc", argv, { "keep-builds": { type: "string" }, "max-size": { type: "string" }, "dry-run": { type: "boolean" } });
  if (args.help) return (console.log(gcHelp), 0);
  const session = await openProject(args.global);
  const maxSize = args.values["max-size"] as string | undefined;
  const lock = await acquireStoreLock(session.store.root, "gc");
  try {
    const report = await collectGarbage(session.store, {
      locks: [session.lock],
      keepBuilds: args.values["keep-builds"] === "0" ? 0 : positiveInt("keep-builds", args.values["keep-builds"] as string | undefined, 5),
      ...(maxSize !== undefined ? { maxSize: parseSize(maxSize) } : {}),
      dryRun: args.values["dry-run"] === true,
    });
    if (args.global.json) printJson(report);
    else {
      const verb = args.values["dry-run"] ? "would remove" : "removed";
      console.log(`${verb} ${report.removedResults} results and ${report.removedBlobs} blobs (${formatBytes(report.freedBytes)}); kept ${report.keptResults} results (${formatBytes(report.keptBytes)})`);
    }
  } finally {
    await lock.release();
  }
  return 0;
}
