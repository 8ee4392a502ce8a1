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
// The core is the static-import closure of the entry points below, read off rolldown's own module
// graph (static imports; a dynamic `import()` stays lazy). A module in the core runs when the
// core loads, so none may import an npm package at its top level beyond ALLOWED, nor a costly
// built-in: the script fails rather than make every command load one.
//
// usage: node scripts/bundle-cli.mjs   (after tsc; bin/lib/bootstrap.sh and the tests run it)
import { rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
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

const core = new Set();
const refused = [];

/** Fills `core` once the module graph is known, before the chunks are made; refuses what it must not hold. */
const coreOfGraph = {
  name: "sabuild-core",
  buildEnd() {
    const todo = ENTRIES.map((e) => join(DIST, e));
    while (todo.length) {
      const id = todo.pop();
      if (core.has(id)) continue;
      core.add(id);
      const info = this.getModuleInfo(id);
      if (!info) this.error(`${relative(DIST, id)} is not among the modules run.js reaches: fix ENTRIES`);
      for (const dep of info.importedIds) {
        if (dep.startsWith("/")) todo.push(dep);
        else if (dep.startsWith("node:") ? DENIED.has(dep) : !ALLOWED.has(dep)) refused.push(`  ${relative(DIST, id)}: ${dep}`);
      }
    }
    // Stops the build; the message is written below, without rolldown's stack.
    if (refused.length) this.error("refused core");
  },
};

rmSync(OUT, { recursive: true, force: true });
const bundled = build({
  input: { run: join(DIST, "cli/run.js") },
  // The other entries of the core are in this graph: run.js reaches them by dynamic imports.
  plugins: [coreOfGraph],
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
await bundled.catch((e) => {
  if (refused.length) {
    process.stderr.write(`bundle-cli: these core modules import, at their top level, what would then load with every command:\n${refused.join("\n")}\nhint: import it where it is used (await import(...)), or change ALLOWED or DENIED in scripts/bundle-cli.mjs with the reason\n`);
  } else process.stderr.write(`bundle-cli: ${e instanceof Error ? e.message : String(e)}\n`);
  rmSync(OUT, { recursive: true, force: true });
  process.exit(1);
});
process.stderr.write(`bundle-cli: ${core.size} modules in the core of dist/cli-bundle/run.js\n`);
