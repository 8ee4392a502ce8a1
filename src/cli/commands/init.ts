import { mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { UserInputError } from "../../errors.js";
import { discoverSources, renderInitConfig } from "../../importers/index.js";
import { parseCommandArgs } from "../args.js";
import { printJson } from "../output.js";

export const initHelp = `sabuild init [--force] [--json]
  Finds Claude Code agents (.claude/agents/**/*.md), skills (**/SKILL.md) and plugins
  (.claude-plugin/plugin.json) in the project directory and writes subagents.yaml for them,
  with an empty task file per subagent under tasks/.`;

export async function initCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("init", argv, { force: { type: "boolean", short: "f" } });
  if (args.help) return (console.log(initHelp), 0);
  const root = resolve(args.global.dir);
  const file = resolve(root, args.global.config ?? "subagents.yaml");
  if ((await exists(file)) && args.values.force !== true) {
    throw new UserInputError(`${file} already exists; pass --force to overwrite it`);
  }
  const found = await discoverSources(root);
  const text = renderInitConfig(found);
  await writeFile(file, text);
  // Each scaffolded subagent points at tasks/<name>.jsonl: create the empty files it names.
  const doc = parseDocument(text).toJS() as { subagents?: Record<string, { tasks?: { from?: string | string[] } }> };
  const created: string[] = [];
  for (const sub of Object.values(doc.subagents ?? {})) {
    const from = sub.tasks?.from;
    for (const rel of from === undefined ? [] : Array.isArray(from) ? from : [from]) {
      const path = join(root, rel);
      if (await exists(path)) continue;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, "");
      created.push(rel);
    }
  }
  if (args.global.json) printJson({ config: file, subagents: found.map((f) => ({ name: f.name, format: f.format, path: f.path })), created });
  else {
    console.log(`wrote ${file} with ${found.length} subagent(s):`);
    for (const f of found) console.log(`  ${f.name}  (${f.format}: ${f.path})`);
    if (created.length) console.log(`created empty task files: ${created.join(", ")} (one JSON task per line)`);
    if (!found.length) console.log("no agents or skills found: add a subagent to subagents.yaml by hand");
  }
  return 0;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
