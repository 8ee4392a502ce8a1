/** A directory's content as data: every file's relative path, digest, size and executable bit. */
export interface ManifestEntry {
  path: string;
  digest: string;
  size: number;
  executable: boolean;
}

export interface Manifest {
  version: 1;
  entries: ManifestEntry[];
}

export function makeManifest(entries: ManifestEntry[]): Manifest {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { version: 1, entries: sorted };
}

/** Stable serialisation: the manifest's blob digest is the output digest of a stage. */
export function serializeManifest(m: Manifest): string {
  const lines = m.entries.map((e) => JSON.stringify([e.path, e.digest, e.size, e.executable ? 1 : 0]));
  return `{"version":1,"entries":[\n${lines.join(",\n")}\n]}\n`;
}

export function parseManifest(text: string): Manifest {
  const raw = JSON.parse(text) as { version: number; entries: [string, string, number, number][] };
  if (raw.version !== 1 || !Array.isArray(raw.entries)) throw new Error("not a sabuild manifest");
  return {
    version: 1,
    entries: raw.entries.map(([path, digest, size, x]) => ({ path, digest, size, executable: x === 1 })),
  };
}

export function totalSize(m: Manifest): number {
  return m.entries.reduce((n, e) => n + e.size, 0);
}
