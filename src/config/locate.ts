import { isAlias, isCollection, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import type { Problem } from "../errors.js";

export type KeyPath = (string | number)[];

/** What a problem is about: the key of an entry (unknown or missing keys) or its value. */
export type Target = "key" | "value";

export interface ProblemText {
  message: string;
  expected?: string;
  hint?: string;
}

/** Turns key paths and offsets into Problems with file:line:col and the source line. */
export interface Locator {
  at(path: KeyPath, target: Target, text: ProblemText): Problem;
  atOffset(start: number, end: number, text: ProblemText): Problem;
}

interface Found {
  /** The node at the deepest segment of the path that exists. */
  node: Node | null;
  /** The key (or, in a list, the item) that introduces that node. */
  key: Node | null;
  complete: boolean;
}

export function createLocator(
  file: string,
  text: string,
  doc: Document,
  lines: LineCounter,
): Locator {
  const resolve = (node: unknown): Node | null => {
    const target = isAlias(node) ? node.resolve(doc) : node;
    return (target as Node | null | undefined) ?? null;
  };

  const find = (path: KeyPath): Found => {
    let node = resolve(doc.contents);
    let key: Node | null = null;
    for (const segment of path) {
      let next: { node: Node | null; key: Node | null } | undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair) next = { node: resolve(pair.value), key: pair.key as Node };
      } else if (isSeq(node) && typeof segment === "number") {
        const item = resolve(node.items[segment]);
        if (item) next = { node: item, key: item };
      }
      if (!next) return { node, key, complete: false };
      ({ node, key } = next);
    }
    return { node, key, complete: true };
  };

  const atOffset = (start: number, end: number, problemText: ProblemText, path: KeyPath = [], mask = false): Problem => {
    const { line, col } = lines.linePos(start);
    const lineStart = lines.lineStarts[line - 1] ?? 0;
    const lineEnd = text.indexOf("\n", lineStart);
    let sourceLine = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).replace(/\r$/, "");
    const length = Math.max(1, Math.min(end, lineStart + sourceLine.length) - start);
    // An api_key problem must not echo the key it complains about.
    if (mask) {
      const from = col - 1;
      sourceLine = sourceLine.slice(0, from) + "*".repeat(length) + sourceLine.slice(from + length);
    }
    return { file, line, column: col, keyPath: path, ...problemText, sourceLine, length };
  };

  const at = (path: KeyPath, target: Target, problemText: ProblemText): Problem => {
    const found = find(path);
    // A block collection spans lines and an empty value has no text: point at their key.
    const range = found.node?.range;
    const useKey =
      target === "key" ||
      !found.complete ||
      (isCollection(found.node) && !found.node.flow) ||
      (!!range && range[0] === range[1]);
    const node = (useKey ? found.key : found.node) ?? found.key ?? found.node;
    if (!node?.range) return { file, line: 0, column: 0, keyPath: path, ...problemText };
    const [start, valueEnd] = node.range;
    const secret = !useKey && path.at(-1) === "api_key";
    return atOffset(start, valueEnd, problemText, path, secret);
  };

  return { at, atOffset: (start, end, problemText) => atOffset(start, end, problemText) };
}
