import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO } from "./helpers.js";

const SRC = join(REPO, "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every relative import of each source file (value, type and dynamic), read by TypeScript's own pre-processor. */
function importGraph(): Map<string, { all: string[]; eager: string[] }> {
  const graph = new Map<string, { all: string[]; eager: string[] }>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, "utf8");
    const info = ts.preProcessFile(text, true, true);
    const local = (spec: string): string => relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    const all = info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith(".")).map(local);
    // Eager: imports at the top of the file, not `import()` expressions that load on use.
    const dynamic = new Set([...text.matchAll(/import\(\s*["'](\.[^"']+)["']\s*\)/g)].map((m) => local(m[1]!)));
    graph.set(relative(SRC, file), { all, eager: all.filter((f) => !dynamic.has(f)) });
  }
  return graph;
}

describe("the import graph", () => {
  const graph = importGraph();

  it("keeps src/engine/ ignorant of ML: what it reaches is the engine, the store, errors and results", () => {
    const reached = new Set<string>();
    const stack = [...graph.keys()].filter((f) => f.startsWith("engine/"));
    while (stack.length) {
      const f = stack.pop()!;
      if (reached.has(f)) continue;
      reached.add(f);
      stack.push(...(graph.get(f)?.all ?? []));
    }
    // builtin.ts only hands out Node's own modules (node:crypto without its ES facade).
    const outside = [...reached].filter((f) => !/^(engine\/|store\/|errors\.ts$|result\.ts$|builtin\.ts$)/.test(f)).sort();
    expect(outside).toEqual([]);
    // The store the engine uses must not reach ML either (gc, which knows the response cache, is not on that path).
    expect([...reached].filter((f) => f === "store/gc.ts")).toEqual([]);
  });

  it("has no import cycles among modules loaded at start", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...path.slice(path.indexOf(f)), f].join(" -> "));
        return;
      }
      state.set(f, "open");
      for (const d of graph.get(f)?.eager ?? []) if (graph.has(d)) visit(d, [...path, f]);
      state.set(f, "done");
    };
    for (const f of graph.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
