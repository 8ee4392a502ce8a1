import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import type { Problem } from "../errors.js";
import { createLocator } from "./locate.js";

/**
 * Stages report problems about config values by key path only (the resolved config has no
 * positions). Before printing, those get the line and column where the key is written.
 * Only error paths call this, so the YAML parser is loaded only when something is wrong.
 */
export async function locateInConfig(problems: Problem[], configFile: string, shownFile: string): Promise<Problem[]> {
  const unplaced = (p: Problem): boolean => p.file === shownFile && p.line === 0 && p.keyPath.length > 0;
  if (!problems.some(unplaced)) return problems;
  let text: string;
  try {
    text = await readFile(configFile, "utf8");
  } catch {
    return problems;
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const locator = createLocator(shownFile, text, doc, lines);
  return problems.map((p) => {
    if (!unplaced(p)) return p;
    const { message, expected, hint } = p;
    return locator.at(p.keyPath, "value", { message, ...(expected ? { expected } : {}), ...(hint ? { hint } : {}) });
  });
}
