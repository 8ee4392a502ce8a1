import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { readLenient } from "./lenient.js";
import type { ImportWarning } from "./types.js";

/** A Markdown file split into its frontmatter (as data) and its body. */
export interface Frontmatter {
  /** The frontmatter mapping; empty when the file has none. */
  data: Record<string, unknown>;
  /** 1-based file line of each top-level key, so later warnings can point at the field. */
  keyLines: Record<string, number>;
  parse: "strict" | "lenient" | "none";
  /** The Markdown after the closing `---`, trimmed. */
  body: string;
  warnings: ImportWarning[];
}

/**
 * Reads `---` frontmatter: strict YAML first, then the lenient line reader when strict parsing
 * fails or yields something other than a mapping, because real agent files are often not YAML
 * (unquoted descriptions full of `: ` and quotes) yet Claude Code still loads them.
 * The only hard error is a block that is opened and never closed: then no body can be told apart.
 */
export function readFrontmatter(text: string, file: string): Result<Frontmatter, Problem> {
  const lines = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n").split("\n");
  if (lines[0]?.trimEnd() !== "---") {
    return ok({ data: {}, keyLines: {}, parse: "none", body: lines.join("\n").trim(), warnings: [] });
  }
  const close = lines.findIndex((l, i) => i > 0 && (l.trimEnd() === "---" || l.trimEnd() === "..."));
  if (close < 0) {
    return err({
      file,
      line: 1,
      column: 1,
      keyPath: [],
      message: "the frontmatter opened on line 1 is never closed",
      hint: "end the frontmatter with a line holding only `---`, before the Markdown body",
      sourceLine: lines[0],
      length: 3,
    });
  }
  const yamlLines = lines.slice(1, close);
  const body = lines.slice(close + 1).join("\n").trim();
  // File line of the first frontmatter line: line 1 is the opening `---`.
  const firstLine = 2;

  const strict = readStrict(yamlLines.join("\n"), firstLine);
  if (strict.ok) return ok({ data: strict.data, keyLines: strict.keyLines, parse: "strict", body, warnings: [] });

  const lenient = readLenient(yamlLines, firstLine);
  const warnings: ImportWarning[] = [
    {
      file,
      line: strict.line,
      message: `frontmatter is not valid YAML (${strict.reason}); read it with the lenient line-based reader instead`,
    },
    ...lenient.ignored.map((line) => ({
      file,
      line,
      message: "ignored a frontmatter line that belongs to no field (it comes before the first `key:` line)",
    })),
  ];
  return ok({ data: lenient.data, keyLines: lenient.keyLines, parse: "lenient", body, warnings });
}

type StrictResult =
  | { ok: true; data: Record<string, unknown>; keyLines: Record<string, number> }
  | { ok: false; line: number; reason: string };

function readStrict(source: string, firstLine: number): StrictResult {
  const lineCounter = new LineCounter();
  // Plain messages: the line is taken from `pos` and shifted to a file line, which the
  // pretty form (counted from the frontmatter's first line) would contradict.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const line = lineCounter.linePos(error.pos[0]).line + firstLine - 1;
    return { ok: false, line, reason: `line ${line}: ${error.message.split("\n")[0]}` };
  }
  // An empty block (`---` straight after `---`, or only comments) is an empty mapping, not an error.
  if (doc.contents === null) return { ok: true, data: {}, keyLines: {} };
  if (!isMap(doc.contents)) {
    const line = lineCounter.linePos(doc.contents.range?.[0] ?? 0).line + firstLine - 1;
    return { ok: false, line, reason: `line ${line}: the frontmatter is not a mapping of keys to values` };
  }
  const keyLines: Record<string, number> = {};
  for (const { key } of doc.contents.items) {
    if (isScalar(key) && key.range) keyLines[String(key.value)] = lineCounter.linePos(key.range[0]).line + firstLine - 1;
  }
  return { ok: true, data: doc.toJS() as Record<string, unknown>, keyLines };
}
