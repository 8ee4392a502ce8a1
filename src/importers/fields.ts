import type { Frontmatter } from "./frontmatter.js";
import { splitToolList } from "./tools.js";
import type { ImportWarning } from "./types.js";

/**
 * Typed reads of frontmatter fields. Real files put numbers where strings belong and the reverse;
 * each reader coerces what has one obvious meaning and warns (dropping the value) otherwise.
 */
export class FieldReader {
  readonly warnings: ImportWarning[] = [];

  constructor(
    readonly file: string,
    readonly fm: Frontmatter,
  ) {}

  line(key: string): number {
    return this.fm.keyLines[key] ?? 0;
  }

  warn(key: string | number, message: string): void {
    this.warnings.push({ file: this.file, line: typeof key === "number" ? key : this.line(key), message });
  }

  has(key: string): boolean {
    const v = this.fm.data[key];
    return v !== undefined && v !== null;
  }

  raw(key: string): unknown {
    return this.fm.data[key];
  }

  /** A string; numbers and booleans become their text (YAML reads `name: 2024` as a number). */
  string(key: string): string | undefined {
    const v = this.fm.data[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return v.trim();
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    this.warn(key, `${key} should be a string; ignored it`);
    return undefined;
  }

  /** A positive integer, from a number or from numeric text (the lenient reader yields text). */
  positiveInt(key: string): number | undefined {
    const v = this.fm.data[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (Number.isInteger(n) && n > 0) return n;
    this.warn(key, `${key} should be a positive whole number, not ${JSON.stringify(v)}; ignored it`);
    return undefined;
  }

  /** A list of names, written as a YAML list or as comma-separated text. */
  names(key: string): string[] {
    const v = this.fm.data[key];
    if (v === undefined || v === null) return [];
    const items = Array.isArray(v) ? v : [v];
    const out: string[] = [];
    for (const item of items) {
      if (typeof item === "string") out.push(...splitToolList(item, ","));
      else this.warn(key, `ignored ${key} entry ${JSON.stringify(item)}: expected a name`);
    }
    return out;
  }
}

/** Warnings in file order (a stable sort keeps each line's warnings in the order found). */
export function byLine(warnings: ImportWarning[]): ImportWarning[] {
  return [...warnings].sort((a, b) => a.line - b.line);
}
