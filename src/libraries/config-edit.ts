import { readFile, writeFile } from "node:fs/promises";
import { isMap, parseDocument, type Document } from "yaml";
import { UserInputError } from "../errors.js";

/**
 * Edits of subagents.yaml made by `library` and `add`, through the yaml package's document
 * API: the user's comments, key order and layout stay as they were, and only the key edited
 * changes. The file is re-checked by the config loader when the command next opens it.
 */
export async function editConfig(file: string, edit: (doc: Document) => void): Promise<void> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) throw new UserInputError(`no ${file}: run \`sabuild init\` first, or write one (see docs/config.md)`);
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UserInputError(`cannot edit ${file}: ${doc.errors[0]!.message}`);
  edit(doc);
  await writeFile(file, keepLayout(text, doc.toString({ lineWidth: 0 })));
}

/**
 * The printer re-spaces flow collections (`{a: 1}` and `{ a: 1 }` come out alike) and this
 * file's style may mix both: a printed line that differs from a line of the original only in
 * that spacing is given back as the user wrote it, so an edit shows in a diff as its own lines.
 */
function keepLayout(original: string, printed: string): string {
  const bare = (line: string) => line.replace(/([{[])\s+/g, "$1").replace(/\s+([}\]])/g, "$1");
  const written = new Map(original.split("\n").map((line) => [bare(line), line]));
  return printed
    .split("\n")
    .map((line) => written.get(bare(line)) ?? line)
    .join("\n");
}

export function setLibrary(doc: Document, name: string, value: Record<string, string>): void {
  ensureMap(doc, "libraries");
  doc.setIn(["libraries", name], doc.createNode(value));
}

export function setLibraryCommit(doc: Document, name: string, commit: string): void {
  doc.setIn(["libraries", name, "commit"], commit);
}

export function deleteLibrary(doc: Document, name: string): void {
  doc.deleteIn(["libraries", name]);
  const libraries = doc.get("libraries");
  if (isMap(libraries) && libraries.items.length === 0) doc.delete("libraries");
}

export function addSubagent(doc: Document, name: string, value: Record<string, unknown>): void {
  ensureMap(doc, "subagents");
  doc.setIn(["subagents", name], doc.createNode(value));
}

/** `subagents: {}` (as init writes for an empty repo) becomes a block mapping before a key is added. */
function ensureMap(doc: Document, key: string): void {
  const node = doc.get(key);
  if (isMap(node)) {
    node.flow = false;
    return;
  }
  doc.set(key, doc.createNode({}));
  const created = doc.get(key);
  if (isMap(created)) created.flow = false;
}
