import { balancedEnd, parseLenientJson } from "../lenient-json.js";
import { err, ok, type Result } from "../result.js";

/**
 * Reads a list of strings out of a model's reply. Models asked for "a JSON list and nothing
 * else" still wrap it in code fences, add a sentence before it, return an object holding the
 * list, or write a numbered list instead; each of those is accepted. A reply with no list in
 * any of these shapes is an error value (the caller records a warning), never an exception.
 */
export function parseTextList(reply: string): Result<string[], string> {
  const text = reply.replace(/<think>[\s\S]*?<\/think>/gi, "").trim();
  if (!text) return err("the reply is empty");
  for (const candidate of jsonCandidates(text)) {
    const list = listOf(candidate);
    if (list) return list.length ? ok(list) : err("the reply is an empty list");
  }
  const lines = markedLines(text);
  if (lines.length) return ok(lines);
  return err(`no JSON list or numbered list in the reply: ${preview(text)}`);
}

/** Fenced blocks first, then the whole text, then the first balanced [...] or {...} in it. */
function* jsonCandidates(text: string): Generator<unknown> {
  for (const m of text.matchAll(/```[\w-]*[ \t]*\r?\n?([\s\S]*?)```/g)) yield parseLenientJson(m[1]!);
  yield parseLenientJson(text);
  for (const open of ["[", "{"] as const) {
    const at = text.indexOf(open);
    if (at === -1) continue;
    const end = balancedEnd(text, at);
    if (end !== -1) yield parseLenientJson(text.slice(at, end + 1));
  }
}

const TEXT_KEYS = ["prompt", "task", "topic", "subtopic", "title", "name", "text", "description"];

/** A JSON array of strings (or of objects with a text field), or an object holding one. */
function listOf(value: unknown): string[] | undefined {
  if (Array.isArray(value)) {
    const items = value.map(itemText).filter((x): x is string => x !== undefined);
    return items.length || value.length === 0 ? items : undefined;
  }
  if (typeof value === "object" && value !== null) {
    const lists = Object.values(value).filter(Array.isArray);
    if (lists.length === 1) return listOf(lists[0]);
  }
  return undefined;
}

function itemText(item: unknown): string | undefined {
  if (typeof item === "string") return item.trim() || undefined;
  if (typeof item === "object" && item !== null && !Array.isArray(item)) {
    for (const k of TEXT_KEYS) {
      const v = (item as Record<string, unknown>)[k];
      if (typeof v === "string" && v.trim()) return v.trim();
    }
  }
  return undefined;
}

/** Lines such as `1. text`, `2) text`, `- text` or `* text`, with bold and quotes removed. */
function markedLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:\d{1,3}[.)]|[-*•])\s+(.+)$/.exec(line);
    if (!m) continue;
    const item = m[1]!
      .replace(/\*\*/g, "")
      .replace(/^"(.*)",?$/, "$1")
      .trim();
    if (item) out.push(item);
  }
  return out;
}

function preview(text: string): string {
  const one = text.replace(/\s+/g, " ");
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 77)}...` : one);
}

/** A list of n yes/no verdicts: JSON booleans, or "yes"/"no"/"true"/"false" items in any list shape. */
export function parseVerdicts(reply: string, n: number): Result<boolean[], string> {
  const text = reply.replace(/<think>[\s\S]*?<\/think>/gi, "").trim();
  let items: unknown[] | undefined;
  for (const candidate of jsonCandidates(text)) {
    if (Array.isArray(candidate)) {
      items = candidate;
      break;
    }
  }
  if (!items) {
    const listed = parseTextList(text);
    if (!listed.ok) return listed;
    items = listed.value;
  }
  const verdicts = items.map((x) => {
    if (typeof x === "boolean") return x;
    const word = typeof x === "string" ? x.trim().toLowerCase().replace(/[.!]$/, "") : "";
    return word === "true" || word === "yes" ? true : word === "false" || word === "no" ? false : undefined;
  });
  if (verdicts.some((v) => v === undefined)) return err(`not a list of yes/no verdicts: ${preview(text)}`);
  if (verdicts.length !== n) return err(`${verdicts.length} verdicts for ${n} tasks`);
  return ok(verdicts as boolean[]);
}
