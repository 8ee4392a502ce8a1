#!/usr/bin/env node
// Bundles the compiled CLI (dist/, from tsc) for start-up: `dist/cli-bundle/run.js` holds, in one
// file, every module a plan, status or no-op build loads, and each module only a command or a
// running stage needs stays a chunk of its own, loaded by the same dynamic import as before.
//
// Why: Node loads an ES module in ~0.5 ms on this kind of machine (read, code-cache lookup,
// link, evaluate), whatever its size, and a no-op build of the 1,000-stage benchmark loaded ~60
// of ours: one core chunk instead took ~19 ms off its ~200 (bench/README.md, no-op figures).
// Only our own modules are bundled: npm packages stay external, loaded as Node resolves them.
//
// The core is the static-import closure of the entry points below, computed from tsc's output
// (static `import`/`export ... from` of relative paths; dynamic `import()` stays lazy). A module
// in the core runs when the core loads, so none may import an npm package at its top level
// beyond ALLOWED: the script fails rather than make every command load one.
//
// usage: node scripts/bundle-cli.mjs   (after tsc; bin/lib/bootstrap.sh and the tests run it)
import { readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { build } from "rolldown";

const DIST = resolve(import.meta.dirname, "..", "dist");
const OUT = join(DIST, "cli-bundle");
/** What a plan, status or no-op build loads: the commands, and each stage kind's inputs. */
const ENTRIES = [
  "cli/run.js",
  "cli/commands/build.js",
  "cli/commands/plan.js",
  "cli/commands/status.js",
  // Not traces: its module's imports reach node:crypto (traces/skill.js), loaded when a trace is made.
  ...["import", "tasks", "sandbox", "dataset", "train", "export", "eval", "router", "report"].map((k) => `stages/${k}.js`),
];
/** npm packages a core module may import at its top level (none today). */
const ALLOWED = new Set([]);
/** Built-ins too costly to load with every command (node:crypto ~10 ms; the others bring sockets, streams or threads). */
const DENIED = new Set(["node:crypto", "node:child_process", "node:http", "node:https", "node:net", "node:worker_threads", "node:zlib"]);

const STATIC = /^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm;

function staticImports(file) {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(STATIC)].map((m) => m[1] ?? m[2]);
}

function coreOf(entries) {
  const core = new Set();
  const refused = [];
  const todo = entries.map((e) => join(DIST, e));
  while (todo.length) {
    const file = todo.pop();
    if (core.has(file)) continue;
    core.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith("./") || spec.startsWith("../")) todo.push(resolve(dirname(file), spec));
      else if (!spec.startsWith("node:") ? !ALLOWED.has(spec) : DENIED.has(spec)) refused.push(`  ${relative(DIST, file)}: ${spec}`);
    }
  }
  return { core, refused };
}

const { core, refused } = coreOf(ENTRIES);
if (refused.length) {
  process.stderr.write(`bundle-cli: these core modules import, at their top level, what would then load with every command:\n${refused.join("\n")}\nhint: import it where it is used (await import(...)), or change ALLOWED or DENIED in scripts/bundle-cli.mjs with the reason\n`);
  process.exit(1);
}

rmSync(OUT, { recursive: true, force: true });
await build({
  input: { run: join(DIST, "cli/run.js") },
  // Packages and built-ins load as they always did; only our modules are bundled.
  external: (id) => id.startsWith("node:") || !(id.startsWith(".") || id.startsWith("/")),
  // A dynamic import of a module that is also imported statically elsewhere is reported, not
  // an error: the module then lives in that importer's chunk (for the core: loaded already).
  onLog: (level, log, handle) => (log.code === "INEFFECTIVE_DYNAMIC_IMPORT" ? undefined : handle(level, log)),
  output: {
    dir: OUT,
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "[name]-[hash].js",
    codeSplitting: { groups: [{ name: "core", test: (id) => core.has(id) }] },
  },
});
process.stderr.write(`bundle-cli: ${core.size} modules in the core of dist/cli-bundle/run.js\n`);
