/**
 * A PCRE-style pattern rewritten for grep -E, for images whose grep lacks -P. GNU ERE already has
 * \w \W \s \S \b \< \>; this adds \d and \D (models write them constantly) and reads (?:...) as a
 * plain group. Lookarounds, backreferences by name and lazy quantifiers have no ERE equivalent.
 */
export function toExtendedRegex(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const next = pattern[i + 1];
    if (ch === "\\" && next !== undefined) {
      if (next === "d") out += inClass ? "0-9" : "[0-9]";
      else if (next === "D" && !inClass) out += "[^0-9]";
      else out += ch + next;
      i++;
    } else if (!inClass && ch === "(" && next === "?" && pattern[i + 2] === ":") {
      out += "(";
      i += 2;
    } else {
      if (ch === "[" && !inClass) {
        inClass = true;
        out += ch;
        // A ] right after [ or [^ is a literal member, not the end of the class.
        if (pattern[i + 1] === "^") out += pattern[++i];
        if (pattern[i + 1] === "]") out += pattern[++i];
        continue;
      }
      if (ch === "]" && inClass) inClass = false;
      out += ch;
    }
  }
  return out;
}
