/**
 * A problem in user input (subagents.yaml, an agent file, a task file), pointing at its source.
 * Collected rather than thrown one at a time, so the user sees every problem at once.
 */
export interface Problem {
  /** Path of the file, relative to the project root when inside it. */
  file: string;
  /** 1-based line and column; 0 when the problem is about the file as a whole. */
  line: number;
  column: number;
  /** Key path inside the document, e.g. ["subagents", "tester", "train", "lora", "r"]. */
  keyPath: (string | number)[];
  message: string;
  /** What was expected, e.g. "a positive integer". */
  expected?: string;
  /** A hint on how to fix it, e.g. 'did you mean "epochs"?' */
  hint?: string;
  /** The source line, for the squiggle under the bad text. */
  sourceLine?: string;
  /** Length of the bad text on that line (for the squiggle). */
  length?: number;
}

/** Bad user input: the CLI prints the problems and exits with code 2 (no stack trace). */
export class UserInputError extends Error {
  readonly problems: Problem[];
  constructor(message: string, problems: Problem[] = []) {
    super(message);
    this.name = "UserInputError";
    this.problems = problems;
  }
}

export function formatKeyPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** Renders a problem as `file:line:col: key.path: message` with the source line and a squiggle. */
export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  const key = p.keyPath.length ? ` ${formatKeyPath(p.keyPath)}:` : "";
  const lines = [`${where}:${key} ${p.message}`];
  if (p.expected) lines.push(`  expected: ${p.expected}`);
  if (p.sourceLine !== undefined && p.line > 0) {
    const gutter = `${p.line} | `;
    lines.push(`  ${gutter}${p.sourceLine}`);
    const pad = " ".repeat(gutter.length + Math.max(0, p.column - 1));
    lines.push(`  ${pad}${"~".repeat(Math.max(1, p.length ?? 1))}`);
  }
  if (p.hint) lines.push(`  hint: ${p.hint}`);
  return lines.join("\n");
}

/** Suggests the closest candidate by edit distance, for "did you mean" hints. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
