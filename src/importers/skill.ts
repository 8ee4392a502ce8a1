import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import type { Imported } from "./agent.js";
import { byLine, FieldReader } from "./fields.js";
import { byCodeUnit, fileProblem, isFile, readText, relPath, sha256, walkFiles } from "./files.js";
import { readFrontmatter } from "./frontmatter.js";
import { normalizeTools } from "./tools.js";
import { bundleFiles, SKILL_FILE } from "./skill-files.js";
import type { BundledFile, SubagentSpec } from "./types.js";

/** The Agent Skills spec's limits (agentskills.io/specification). */
const NAME_MAX = 64;
const DESCRIPTION_MAX = 1024;
const COMPATIBILITY_MAX = 500;

/**
 * Imports an Agent Skill. Violations of the Agent Skills spec are warnings, not errors: Claude
 * Code loads such skills anyway, and the user should still be able to build them.
 */
export async function importSkillDir(
  root: string,
  dir: string,
  format: "skill" | "plugin-skill",
  plugin?: string,
): Promise<Result<Imported, Problem[]>> {
  const skillFile = path.join(dir, SKILL_FILE);
  const file = relPath(root, skillFile);
  const text = await readText(skillFile);
  if (text === undefined) {
    return err([fileProblem(file, "skill has no SKILL.md", `a skill is a directory holding a ${SKILL_FILE} file`)]);
  }
  const read = readFrontmatter(text, file);
  if (!read.ok) return err([read.error]);
  const fm = read.value;
  const f = new FieldReader(file, fm);
  if (fm.parse === "none") f.warn(1, "SKILL.md has no frontmatter; the spec requires `name` and `description` in a `---` block");

  const dirName = path.basename(dir);
  const name = f.string("name") || dirName;
  if (!f.has("name")) f.warn(1, `the skill has no name; using the directory name "${dirName}"`);
  else checkName(f, name, dirName);

  const description = f.string("description") ?? "";
  if (description === "") f.warn(f.has("description") ? "description" : 1, "the skill has no description (the spec requires one)");
  if (description.length > DESCRIPTION_MAX) {
    f.warn("description", `description is ${description.length} characters; the spec allows at most ${DESCRIPTION_MAX}`);
  }
  const compatibility = f.string("compatibility");
  if (compatibility !== undefined && compatibility.length > COMPATIBILITY_MAX) {
    f.warn("compatibility", `compatibility is ${compatibility.length} characters; the spec allows at most ${COMPATIBILITY_MAX}`);
  }

  const tools = normalizeTools({
    file,
    allowed: f.raw("allowed-tools"),
    allowedLine: f.line("allowed-tools"),
    disallowed: undefined,
    disallowedLine: 0,
  });
  const model = f.string("model");
  const spec: SubagentSpec = {
    name,
    description,
    prompt: fm.body,
    tools: tools.tools,
    ...(model === undefined ? {} : { model }),
    skills: [],
    bundle: await digestBundle(dir),
    provenance: { path: file, format, frontmatter: fm.data, parse: fm.parse, ...(plugin === undefined ? {} : { plugin }) },
  };
  return ok({ spec, warnings: byLine([...fm.warnings, ...f.warnings, ...tools.warnings]) });
}

/** The spec's naming rule, one warning per broken part so the user sees exactly what to change. */
function checkName(f: FieldReader, name: string, dirName: string): void {
  const broken: string[] = [];
  if (name.length > NAME_MAX) broken.push(`is ${name.length} characters (at most ${NAME_MAX})`);
  if (/[^a-z0-9-]/.test(name)) broken.push("may hold only lowercase letters, digits and hyphens");
  if (name.startsWith("-") || name.endsWith("-")) broken.push("may not start or end with a hyphen");
  if (name.includes("--")) broken.push('may not hold "--"');
  for (const why of broken) f.warn("name", `skill name ${JSON.stringify(name)} ${why}`);
  if (name !== dirName) f.warn("name", `skill name ${JSON.stringify(name)} should match its directory name "${dirName}"`);
}

async function digestBundle(dir: string): Promise<BundledFile[]> {
  const out: BundledFile[] = [];
  for (const abs of await bundleFiles(dir)) {
    const content = await readFile(abs);
    out.push({ path: relPath(dir, abs), digest: sha256(content), size: content.length });
  }
  // Sorted by the reported path itself, whatever the platform's path separator did to the walk order.
  return out.sort((a, b) => byCodeUnit(a.path, b.path));
}
