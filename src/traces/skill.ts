import { readFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import type { ProjectConfig } from "../config/index.js";
import type { SubagentSpec } from "../importers/types.js";
import type { SandboxSession } from "../sandbox/types.js";

/** Where a skill's bundled files (scripts/, references/) are put in the sandbox. */
export const SKILL_DIR = "/tmp/sabuild-skill";

/** The subagent's instructions as the model playing it sees them: an agent's body, or a skill's. */
export function instructionsOf(spec: SubagentSpec): string {
  if (spec.provenance.format === "skill" || spec.provenance.format === "plugin-skill") {
    const files = spec.bundle.length ? `\n\nThe skill's bundled files are in ${SKILL_DIR}/${spec.name}/ (${spec.bundle.map((b) => b.path).join(", ")}).` : "";
    return `You are a subagent that follows the "${spec.name}" skill: ${spec.description}${files}\n\n${spec.prompt}`;
  }
  return spec.prompt;
}

/** Copies a skill's bundle into the container, so its scripts can run where the tools run. */
export async function installSkill(session: SandboxSession, project: ProjectConfig, spec: SubagentSpec): Promise<void> {
  if (!spec.bundle.length || !spec.provenance.path) return;
  const skillDir = dirname(join(project.root, spec.provenance.path));
  for (const file of spec.bundle) {
    const target = posix.join(SKILL_DIR, spec.name, file.path);
    const content = await readFile(join(skillDir, file.path));
    const r = await session.exec(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', "sh", target, /^scripts\//.test(file.path) ? "755" : "644"], { stdin: content });
    if (r.exitCode !== 0) throw new Error(`cannot copy the skill file ${file.path} into the sandbox: ${r.stderr.trim()}`);
  }
}
