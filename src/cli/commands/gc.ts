import { join } from "node:path";
import { collectGarbage } from "../../store/gc.js";
import { acquireStoreLock } from "../store-lock.js";
import { openProject } from "../../project.js";
import { parseCommandArgs, parseSize, positiveInt } from "../args.js";
import { formatBytes, printJson } from "../output.js";

export const gcHelp = `sabuild gc [--keep-builds N] [--max-size SIZE] [--images] [--dry-run] [--json]
  Deletes results and blobs that neither sabuild.lock nor the last N builds (default 5) reference.
  With --max-size (e.g. 20G), other results are kept too, most recently used first, up to the cap.
  With --images, then removes the sandbox images sabuild built that no result left in the store
  references (an image a container still uses is kept and listed).`;

export async function gcCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("gc", argv, { "keep-builds": { type: "string" }, "max-size": { type: "string" }, "dry-run": { type: "boolean" }, images: { type: "boolean" } });
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
    const dryRun = args.values["dry-run"] === true;
    // Loaded only for --images: the Docker client is not needed to collect the store's garbage.
    const images = args.values.images
      ? await import("../../sandbox/gc-images.js").then(async (m) => m.removeUnreferencedImages(await m.referencedImages(session.store), dryRun))
      : undefined;
    if (args.global.json) printJson(images ? { ...report, images } : report);
    else {
      const verb = dryRun ? "would remove" : "removed";
      console.log(`${verb} ${report.removedResults} results and ${report.removedBlobs} blobs (${formatBytes(report.freedBytes)}); kept ${report.keptResults} results (${formatBytes(report.keptBytes)})`);
      if (images) {
        console.log(`${verb} ${images.removed.length} sandbox images (${formatBytes(images.freedBytes)}); kept ${images.kept} that results use`);
        for (const i of images.inUse) console.log(`  kept ${i.tags[0] ?? i.id.slice(7, 19)}: ${i.why}`);
      }
    }
  } finally {
    await lock.release();
  }
  return 0;
}
