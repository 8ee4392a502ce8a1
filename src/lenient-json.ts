/**
 * Reading JSON that models write: forgiving the trailing commas they leave, and finding the
 * balanced `[...]` or `{...}` inside prose (used by the judge and by task generation).
 */

/** JSON as written, or with trailing commas removed; undefined when neither parses. */
export function parseLenientJson(text: string): unknown {
  const trimmed = text.trim();
  for (const candidate of [trimmed, trimmed.replace(/,(\s*[\]}])/g, "$1")]) {
    try {
      return JSON.parse(candidate);
    } catch {
      // not JSON as it stands; the next form may be
    }
  }
  return undefined;
}

/** Index of the bracket that closes the `[` or `{` at `start`, skipping brackets inside strings; -1 if none. */
export function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
