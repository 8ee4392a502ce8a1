import { isMap, parseDocument } from "yaml";
import { splitToolList } from "./tools.js";

/**
 * Frontmatter keys of Claude Code agents and Agent Skills. A known key at column 0 always starts a
 * field, even inside a free-text value, because no prose line would plausibly begin with one.
 */
const KNOWN_KEYS = new Set([
  "name", "description", "tools", "disallowedTools", "model", "maxTurns", "skills", "mcpServers",
  "color", "permissionMode", "hooks", "memory", "background", "effort", "isolation",
  "allowed-tools", "license", "metadata", "compatibility", "version", "argument-hint",
  "disable-model-invocation", "user-invocable", "when_to_use",
]);

const KEY_LINE = /^([A-Za-z_][\w-]*):(?:[ \t]+(.*))?$/;
const UNKNOWN_KEY = /^[a-z][\w-]*$/;

export interface LenientRead {
  data: Record<string, unknown>;
  keyLines: Record<string, number>;
  /** File lines that came before any field and so could not be read. */
  ignored: number[];
}

/**
 * The fallback for frontmatter that is not YAML. Top-level `key: value` lines start fields; every
 * other line continues the field above it. Each field is then parsed as YAML on its own, so one
 * broken field (usually `description`) does not spoil the others; a field that still fails is kept
 * as text, or as a list when it looks like one.
 */
export function readLenient(lines: readonly string[], firstLine: number): LenientRead {
  const fields: { key: string; line: number; lines: string[] }[] = [];
  const ignored: number[] = [];
  lines.forEach((text, i) => {
    const current = fields.at(-1);
    const key = KEY_LINE.exec(text)?.[1];
    if (key !== undefined && startsField(key, current?.lines)) {
      fields.push({ key, line: firstLine + i, lines: [text] });
    } else if (current) {
      current.lines.push(text);
    } else if (text.trim() !== "" && !text.startsWith("#")) {
      ignored.push(firstLine + i);
    }
  });

  const data: Record<string, unknown> = {};
  const keyLines: Record<string, number> = {};
  for (const field of fields) {
    // A repeated key overrides the earlier one, as most YAML readers that tolerate it do.
    data[field.key] = fieldValue(field.key, field.lines);
    keyLines[field.key] = field.line;
  }
  return { data, keyLines, ignored };
}

/**
 * Whether a `key:` line starts a new field. Unknown keys count only when lowercase and not inside
 * an unclosed `<example>`-style block, because descriptions quote dialogue such as `user: "..."`
 * and `Context: ...` at column 0, and those lines belong to the description.
 */
function startsField(key: string, currentLines: string[] | undefined): boolean {
  if (KNOWN_KEYS.has(key)) return true;
  if (!UNKNOWN_KEY.test(key)) return false;
  return currentLines === undefined || !insideOpenTag(currentLines.join("\n"));
}

function insideOpenTag(text: string): boolean {
  const opened = text.match(/<[A-Za-z][\w-]*(\s[^<>]*)?(?<!\/)>/g)?.length ?? 0;
  const closed = text.match(/<\/[A-Za-z][\w-]*\s*>/g)?.length ?? 0;
  return opened > closed;
}

function fieldValue(key: string, lines: string[]): unknown {
  const source = trimTrailingBlank(lines).join("\n");
  const doc = parseDocument(source);
  if (doc.errors.length === 0 && isMap(doc.contents)) {
    const value = (doc.toJS() as Record<string, unknown>)[key];
    if (value !== undefined) return value;
  }
  return rawValue(lines);
}

/** The text of a field that is not YAML even on its own: a flow list, a block list, or prose. */
function rawValue(lines: string[]): unknown {
  const first = (lines[0] ?? "").replace(KEY_LINE, "$2").trim();
  const rest = trimTrailingBlank(lines.slice(1));
  const filled = rest.filter((l) => l.trim() !== "");
  if (first === "" && filled.length > 0 && filled.every((l) => /^\s*- /.test(l))) {
    return filled.map((l) => unquote(l.trim().slice(2).trim()));
  }
  const text = [first, ...dedent(rest)].join("\n").trim();
  if (!text.includes("\n") && text.startsWith("[") && text.endsWith("]")) {
    return splitToolList(text.slice(1, -1), ",").map(unquote);
  }
  // Authors write `\n` in single-line descriptions meaning a line break; YAML keeps it only in
  // double quotes, which these values lack.
  return unquote(text).replace(/\\n/g, "\n");
}

function unquote(text: string): string {
  const q = text[0];
  return text.length >= 2 && (q === '"' || q === "'") && text.endsWith(q) ? text.slice(1, -1) : text;
}

function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^\s*/.exec(l)?.[0].length ?? 0);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut).trimEnd());
}

function trimTrailingBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === "") end--;
  return lines.slice(0, end);
}
