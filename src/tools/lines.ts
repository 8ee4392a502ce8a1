/** Lines numbered like `cat -n` (six-wide number, a tab, the line), long lines cut with a marker. */
export function numberLines(lines: readonly string[], firstNumber: number, maxChars = Infinity): string {
  return lines.map((line, i) => `${String(firstNumber + i).padStart(6)}\t${cutLine(line, maxChars)}`).join("\n");
}

function cutLine(line: string, maxChars: number): string {
  if (line.length <= maxChars) return line;
  const chars = Array.from(line);
  if (chars.length <= maxChars) return line;
  return `${chars.slice(0, maxChars).join("")}… [line cut at ${maxChars} characters]`;
}
