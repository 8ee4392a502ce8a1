import path from "node:path";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { byCodeUnit, fileProblem, isFile, relPath } from "./files.js";
import { bundleFiles, SKILL_FILE, skillDir } from "./skill-files.js";
import type { SourceRef } from "./sources.js";

/**
 * Paths (relative to root, forward slashes, sorted) of every file the import reads: the import
 * key's file inputs. For a plugin item that is the manifest and every agent and SKILL.md file,
 * since any of them can change which item a name selects, plus the chosen skill's bundle.
 * Agents and skills are listed without parsing anything, so a no-op build never loads YAML.
 */
export async function listImportInputs(root: string, source: SourceRef): Promise<Result<string[], Problem[]>> {
  const sorted = (abs: string[]) => ok([...new Set(abs.map((a) => relPath(root, a)))].sort(byCodeUnit));
  if ("inline" in source) return ok([]);
  if ("agent" in source) {
    const abs = path.resolve(root, source.agent);
    return (await isFile(abs)) ? sorted([abs]) : err([fileProblem(relPath(root, abs), "agent file not found")]);
  }
  if ("skill" in source) {
    const dir = await skillDir(path.resolve(root, source.skill));
    const skillFile = path.join(dir, SKILL_FILE);
    if (!(await isFile(skillFile))) {
      const { missingSkill } = await import("./index.js");
      return err([missingSkill(root, dir)]);
    }
    return sorted([skillFile, ...(await bundleFiles(dir))]);
  }
  const { listPluginImportInputs } = await import("./index.js");
  const listed = await listPluginImportInputs(root, source);
  return listed.ok ? sorted(listed.value) : listed;
}
