/**
 * Glob patterns as POSIX extended regular expressions, for `find -regextype posix-extended -regex`
 * (GNU find matches the whole path, so no anchors). The output uses only syntax that ERE and
 * JavaScript read alike, so the tests can check it in-process too.
 *
 *   *      any characters except /        ?      one character except /
 *   **     any number of directories       [a-z], [!a-z]  a character class
 *   {a,b}  either alternative (nestable)   \x     x literally
 */
export function globToRegex(pattern: string): string {
  let out = "";
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === "*" && pattern[i + 1] === "*" && (i === 0 || pattern[i - 1] === "/")) {
      // `**` as a whole segment: zero or more directories.
      const next = pattern[i + 2];
      if (next === "/") {
        out += "(.*/)?";
        i += 3;
        continue;
      }
      if (next === undefined) {
        out += ".*";
        i += 2;
        continue;
      }
    }
    if (ch === "*") {
      while (pattern[i + 1] === "*") i++;
      out += "[^/]*";
    } else if (ch === "?") {
      out += "[^/]";
    } else if (ch === "[") {
      const end = classEnd(pattern, i);
      if (end < 0) out += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        // Inside an ERE bracket a backslash is literal; drop glob escapes rather than keep them.
        body = body.replace(/\\(.)/g, "$1");
        out += `[${negate ? "^/" : ""}${body}]`;
        i = end;
      }
    } else if (ch === "{") {
      const end = braceEnd(pattern, i);
      if (end < 0) out += "\\{";
      else {
        out += `(${splitAlternatives(pattern.slice(i + 1, end)).map(globToRegex).join("|")})`;
        i = end;
      }
    } else if (ch === "\\" && i + 1 < pattern.length) {
      i++;
      out += escapeRegex(pattern[i]!);
    } else {
      out += escapeRegex(ch);
    }
    i++;
  }
  return out;
}

/** True when the text holds glob syntax (so it is a pattern, not a literal path segment). */
export function hasGlobSyntax(text: string): boolean {
  return /[*?[{\\]/.test(text);
}

export function escapeRegex(text: string): string {
  return text.replace(/[.^$+?()[\]{}|\\*]/g, "\\$&");
}

/** Index of the `]` closing the class opened at `start`, or -1. A `]` right after `[` or `[!` is literal. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === "!" || pattern[i] === "^") i++;
  if (pattern[i] === "]") i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === "\\") i++;
    else if (pattern[i] === "]") return i;
    else if (pattern[i] === "/") return -1;
  }
  return -1;
}

function braceEnd(pattern: string, start: number): number {
  let depth = 0;
  for (let i = start; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") i++;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return i;
  }
  return -1;
}

/** Splits a brace body on the commas at its own level. */
function splitAlternatives(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === "\\" && i + 1 < body.length) {
      current += ch + body[++i];
      continue;
    }
    if (ch === "{") depth++;
    else if (ch === "}") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}
