import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserInputError } from "../errors.js";
import { listImportInputs } from "../importers/inputs.js";
import { err, ok } from "../result.js";
import type { Json } from "../key.js";
import type { Stage } from "./types.js";
import { configName } from "./config-name.js";

/** Reads the subagent's source (agent file, skill, plugin item or inline) into spec.json. */
export function importStage(): Stage {
  return {
    kind: "import",
    version: "1",
    deps: [],
    async inputs({ project, subagent }) {
      const files = await listImportInputs(project.root, subagent.source);
      if (!files.ok) {
        // A source path that does not exist is a problem of the config key that names it.
        const kind = Object.keys(subagent.source)[0]!;
        return err(files.error.map((p) => (p.line === 0 ? { ...p, message: `${p.message}: ${p.file}`, file: configName(project), keyPath: ["subagents", subagent.name, "source", kind] } : p)));
      }
      return ok({ params: { source: subagent.source as Json, name: subagent.name }, files: files.value });
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
    },
  };
}
