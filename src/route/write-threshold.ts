import { readFile, rename, writeFile } from "node:fs/promises";
import { parseDocument } from "yaml";

/**
 * Sets subagents.<name>.route.threshold in the config file through yaml's document API, so
 * comments, key order and formatting elsewhere stay as the user wrote them. Written to a temp
 * file and renamed: a reader never sees half a config.
 */
export async function writeThreshold(file: string, subagent: string, threshold: number): Promise<void> {
  const doc = parseDocument(await readFile(file, "utf8"));
  doc.setIn(["subagents", subagent, "route", "threshold"], threshold);
  const tmp = `${file}.sabuild-${process.pid}.tmp`;
  await writeFile(tmp, doc.toString());
  await rename(tmp, file);
}
