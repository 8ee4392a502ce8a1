import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserInputError } from "../errors.js";
import { listImportInputs } from "../importers/inputs.js";
import type { ToolSet } from "../importers/types.js";
import { err, ok } from "../result.js";
import type { Json } from "../engine/key.js";
import type { ImportedTools } from "../tools/types.js";
import { TOOLS_VERSION } from "../tools/version.js";
import type { RunContext, Stage } from "./types.js";
import { configName } from "./config-name.js";

/**
 * Reads the subagent's source (agent file, skill, plugin item or inline) into spec.json, and the
 * tools it gets into tools.json: canonical names and their OpenAI definitions, which the teacher
 * sees while tracing and the dataset's chat template renders.
 */
export function importStage(): Stage {
  return {
    kind: "import",
    version: "2",
    deps: [],
    async inputs({ project, subagent }) {
      const files = await listImportInputs(project.root, subagent.source);
      if (!files.ok) {
        // A source path that does not exist is a problem of the config key that names it.
        const kind = Object.keys(subagent.source)[0]!;
        return err(files.error.map((p) => (p.line === 0 ? { ...p, message: `${p.message}: ${p.file}`, file: configName(project), keyPath: ["subagents", subagent.name, "source", kind] } : p)));
      }
      const source = subagent.source;
      return ok({
        params: {
          // Where the spec comes from (an inline spec is all here; files are keyed below).
          source: source as Json,
          // spec.json's name, for an inline source that gives none; otherwise the name is not read.
          name: "inline" in source && !source.inline.name?.trim() ? subagent.name : null,
          // Whether tools sabuild cannot run fail the import or are dropped from tools.json.
          unsupported_tools: subagent.unsupported_tools,
        },
        // The agent file, SKILL.md and its bundle, or the plugin's manifest and items.
        files: files.value,
        // The tools' descriptions and behaviour shape every trace recorded with them.
        toolchain: { "agent-tools": TOOLS_VERSION },
      });
    },
    async run(ctx) {
      // Loaded on demand: the importers bring the YAML parser, which a no-op build never needs.
      const { importSource } = await import("../importers/index.js");
      const imported = await importSource(ctx.project.root, ctx.subagent.source, ctx.subagent.name);
      if (!imported.ok) throw new UserInputError(`cannot import ${ctx.subagent.name}`, imported.error);
      const { spec, warnings } = imported.value;
      for (const w of warnings) ctx.log(`warning: ${w.file}${w.line ? `:${w.line}` : ""}: ${w.message}`);
      await writeFile(join(ctx.outDir, "spec.json"), `${JSON.stringify(spec, null, 2)}\n`);
      await writeFile(join(ctx.outDir, "warnings.json"), `${JSON.stringify(warnings, null, 2)}\n`);
      await writeTools(ctx, spec.tools);
    },
  };
}

/** Resolves the spec's tools; unsupported ones fail the stage unless the subagent says to drop them. */
async function writeTools(ctx: RunContext, toolset: ToolSet): Promise<void> {
  const { resolveTools, toOpenAiTools } = await import("../tools/index.js");
  const { tools, unsupported } = resolveTools(toolset);
  if (unsupported.length > 0) {
    const list = unsupported.join(", ");
    if (ctx.subagent.unsupported_tools === "error") {
      const kind = Object.keys(ctx.subagent.source)[0]!;
      throw new UserInputError(`${ctx.subagent.name} names tools sabuild cannot run`, [
        {
          file: configName(ctx.project),
          line: 0,
          column: 0,
          keyPath: ["subagents", ctx.subagent.name, "source", kind],
          message: `the subagent's tools include ${unsupported.length === 1 ? "one" : unsupported.length} that sabuild cannot run: ${list}`,
          hint: "set unsupported_tools: ignore on the subagent to drop them",
        },
      ]);
    }
    ctx.log(`warning: dropped tools sabuild cannot run (unsupported_tools: ignore): ${list}`);
  }
  const out: ImportedTools = { version: TOOLS_VERSION, resolved: tools.map((t) => t.name), dropped: unsupported, definitions: toOpenAiTools(tools) };
  await writeFile(join(ctx.outDir, "tools.json"), `${JSON.stringify(out, null, 2)}\n`);
}
