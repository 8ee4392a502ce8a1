import path from "node:path";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { byLine, FieldReader } from "./fields.js";
import { fileProblem, readText, relPath } from "./files.js";
import { readFrontmatter } from "./frontmatter.js";
import { normalizeTools } from "./tools.js";
import type { ImportWarning, SubagentSpec } from "./types.js";

export interface Imported {
  spec: SubagentSpec;
  warnings: ImportWarning[];
}

const FRONTMATTER_HINT =
  "start the file with a frontmatter block: a line `---`, then `name: <agent-name>` and " +
  "`description: <when Claude should use this agent>`, then a closing `---` line before the prompt";

/** Imports a Claude Code agent file: frontmatter settings plus the Markdown body as system prompt. */
export async function importAgentFile(
  root: string,
  abs: string,
  format: "claude-agent" | "plugin-agent",
  plugin?: string,
): Promise<Result<Imported, Problem[]>> {
  const file = relPath(root, abs);
  const text = await readText(abs);
  if (text === undefined) return err([fileProblem(file, "agent file not found")]);

  const read = readFrontmatter(text, file);
  if (!read.ok) return err([read.error]);
  const fm = read.value;
  if (fm.parse === "none") {
    return err([fileProblem(file, "an agent file needs YAML frontmatter with at least a description", FRONTMATTER_HINT)]);
  }

  const f = new FieldReader(file, fm);
  const stem = path.basename(abs, path.extname(abs));
  const name = f.string("name") || stem;
  if (!f.has("name")) f.warn(1, `the agent has no name; using the file name "${stem}"`);
  const description = f.string("description") ?? "";
  if (description === "") f.warn(f.has("description") ? "description" : 1, "the agent has no description: Claude uses it to decide when to delegate");
  if (fm.body === "") f.warn(fm.keyLines["description"] ?? 1, "the agent has no system prompt (the Markdown body after the frontmatter is empty)");

  const tools = normalizeTools({
    file,
    allowed: f.raw("tools"),
    allowedLine: f.line("tools"),
    disallowed: f.raw("disallowedTools"),
    disallowedLine: f.line("disallowedTools"),
  });

  const model = f.string("model");
  const maxTurns = f.positiveInt("maxTurns");
  const spec: SubagentSpec = {
    name,
    description,
    prompt: fm.body,
    tools: tools.tools,
    ...(model === undefined ? {} : { model }),
    ...(maxTurns === undefined ? {} : { maxTurns }),
    skills: f.names("skills"),
    ...(f.has("mcpServers") ? { mcpServers: f.raw("mcpServers") } : {}),
    bundle: [],
    provenance: {
      path: file,
      format,
      frontmatter: fm.data,
      parse: fm.parse,
      ...(plugin === undefined ? {} : { plugin }),
    },
  };
  return ok({ spec, warnings: byLine([...fm.warnings, ...f.warnings, ...tools.warnings]) });
}
