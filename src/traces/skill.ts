import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
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

/**
 * Where the import stage keeps a skill's bundled files in its output. Rollouts (traces, eval,
 * bench, serve) copy them into the sandbox from there, not from the project: the files are
 * what import's key read, and a job on a cluster node has the import output (fetched from the
 * remote cache) but not necessarily the project's files (`ship: bundle` packs only the files
 * of the running stage's own key).
 */
const KEPT = "skill";

/** Copies the skill's bundle into import's output, each file checked against the digest spec.json records. */
export async function keepSkillBundle(root: string, spec: SubagentSpec, outDir: string): Promise<void> {
  if (!spec.bundle.length || !spec.provenance.path) return;
  const skillDir = dirname(join(root, spec.provenance.path));
  for (const file of spec.bundle) {
    const content = await readFile(join(skillDir, file.path));
    if (createHash("sha256").update(content).digest("hex") !== file.digest) throw new Error(`the skill file ${file.path} changed while it was imported; build again`);
    const target = join(outDir, KEPT, ...file.path.split("/"));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** Copies a skill's bundle (kept in import's output, `importDir`) into the container, so its scripts can run where the tools run. */
export async function installSkill(session: SandboxSession, importDir: string, spec: SubagentSpec): Promise<void> {
  if (!spec.bundle.length || !spec.provenance.path) return;
  for (const file of spec.bundle) {
    const target = posix.join(SKILL_DIR, spec.name, file.path);
    const content = await readFile(join(importDir, KEPT, ...file.path.split("/")));
    const r = await session.exec(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', "sh", target, /^scripts\//.test(file.path) ? "755" : "644"], { stdin: content });
    if (r.exitCode !== 0) throw new Error(`cannot copy the skill file ${file.path} into the sandbox: ${r.stderr.trim()}`);
  }
}
