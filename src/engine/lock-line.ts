import type { LockEntries, LockEntry } from "./lockfile.js";

/**
 * A sabuild.lock entry on one line, for the store's record of a verified lock
 * (store/verified.ts): `key, output digest, output files, output bytes, version, params, files,
 * upstream, toolchain`, tab-separated, the last three as JSON. A no-op build of a lock verified
 * as it is reads these lines instead of parsing the lock: the ~650 KB lock of 1,000 stages
 * parsed into ~11,000 objects and strings, all alive to the end, and the young-generation GCs
 * that copied them cost a no-op ~10-13 ms beside the parse itself (measured: a second parse of
 * the same lock, kept alive, added 13 ms). A line is one string; its fields are parsed each time
 * they are read, into objects that die young.
 */
export class LockLine implements LockEntry {
  constructor(private readonly line: string) {}

  private field(i: number): string {
    let start = 0;
    for (let n = 0; n < i; n++) start = this.line.indexOf("\t", start) + 1;
    const end = this.line.indexOf("\t", start);
    return end < 0 ? this.line.slice(start) : this.line.slice(start, end);
  }

  get key(): string {
    return this.field(0);
  }
  get output(): LockEntry["output"] {
    return { digest: this.field(1), files: Number(this.field(2)), bytes: Number(this.field(3)) };
  }
  get version(): string {
    return this.field(4);
  }
  get params(): string {
    return this.field(5);
  }
  get files(): Record<string, string> {
    return JSON.parse(this.field(6)) as Record<string, string>;
  }
  get upstream(): Record<string, string> {
    return JSON.parse(this.field(7)) as Record<string, string>;
  }
  get toolchain(): Record<string, string> {
    return JSON.parse(this.field(8)) as Record<string, string>;
  }

  /** As a plain entry: the getters are not own properties, so a spread or JSON.stringify would miss them. */
  toJSON(): LockEntry {
    return { key: this.key, version: this.version, params: this.params, files: this.files, upstream: this.upstream, toolchain: this.toolchain, output: this.output };
  }
}

/**
 * The entries as lines, `<id>\t<entry>` each; undefined when one cannot be written so (an id or
 * a version with a tab or a line break, or an output figure that is not a number): the lock is
 * then parsed as before.
 */
export function lockLines(entries: LockEntries): string | undefined {
  const out: string[] = [];
  for (const id in entries) {
    const e = entries[id]!;
    const plain = [id, e.key, e.output.digest, e.version, e.params];
    if (plain.some((s) => typeof s !== "string" || /[\t\n]/.test(s)) || !Number.isFinite(e.output.files) || !Number.isFinite(e.output.bytes)) return undefined;
    // JSON.stringify escapes tabs and line breaks inside strings: the separators stay unambiguous.
    out.push([id, e.key, e.output.digest, e.output.files, e.output.bytes, e.version, e.params, JSON.stringify(e.files), JSON.stringify(e.upstream), JSON.stringify(e.toolchain)].join("\t"));
  }
  return out.join("\n");
}

/** The entries of `lockLines`' text, each a LockLine; undefined unless there are `count` well-formed lines. */
export function parseLockLines(text: string, count: number): LockEntries | undefined {
  const entries: LockEntries = {};
  if (text === "") return count === 0 ? entries : undefined;
  let n = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const tab = text.indexOf("\t", start);
    if (tab < 0 || tab > end) return undefined;
    entries[text.slice(start, tab)] = new LockLine(text.slice(tab + 1, end));
    n++;
    start = end + 1;
  }
  return n === count ? entries : undefined;
}
