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
  if (!found.length) {
    throw new UserInputError(`no Claude Code agents, skills or plugins found under ${root}; write subagents.yaml by hand (see docs/config.md)`);
  }
  const text = renderInitConfig(found);
  await writeFile(file, text);
  // Each scaffolded subagent points at tasks/<name>.jsonl: create the empty files it names.
  const doc = parseDocument(text).toJS() as { subagents?: Record<string, { tasks?: { from?: string | string[] } }> };
  const names = Object.keys(doc.subagents ?? {});
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
  // The config keys are the sanitised names, in the order the sources were found.
  const subagents = found.map((f, i) => ({ name: names[i] ?? f.name, format: f.format, path: f.path }));
  if (args.global.json) printJson({ config: file, subagents, created });
  else {
    console.log(`wrote ${file} with ${found.length} subagent(s):`);
    for (const s of subagents) console.log(`  ${s.name}  (${s.format}: ${s.path})`);
    if (created.length) console.log(`created empty task files: ${created.join(", ")} (one JSON task per line)`);
  }
  return 0;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
