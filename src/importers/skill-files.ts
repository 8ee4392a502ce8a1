import path from "node:path";
import { isFile, walkFiles } from "./files.js";

// Kept apart from skill.ts so that listing a skill's inputs does not load the YAML parser.

export const SKILL_FILE = "SKILL.md";

/** A skill reference may name the skill directory or its SKILL.md; both mean the directory. */
export async function skillDir(abs: string): Promise<string> {
  return path.basename(abs) === SKILL_FILE && (await isFile(abs)) ? path.dirname(abs) : abs;
}

/**
 * Every file bundled with a skill: everything under its directory except SKILL.md itself and
 * dot-entries (.git, .DS_Store, editor state), which are never part of what a skill ships.
 */
export async function bundleFiles(dir: string): Promise<string[]> {
  const visible = (name: string) => !name.startsWith(".");
  const files = await walkFiles(dir, visible, visible);
  return files.filter((abs) => abs !== path.join(dir, SKILL_FILE));
}
