#!/usr/bin/env node
// A namespace import: a named one of a missing export fails to link on Nodes before 22.1.
import * as nodeModule from "node:module";

// Node caches compiled code on disk (in the OS temp dir): later starts skip parsing the modules.
// Turned on before anything else loads, so it covers every module of the command, run.js's own
// static imports too (they are compiled when run.js is linked, before its body could ask).
nodeModule.enableCompileCache?.();

/**
 * The CLI from scripts/bundle-cli.mjs (dist/cli-bundle/run.js: what plan, status and a no-op
 * build load, in one file) when it was made from these compiled modules; else, or with
 * SABUILD_UNBUNDLED set (tests that name our modules, stack traces that name source files),
 * the modules as tsc wrote them. Same code either way; the bundle loads ~20 ms faster.
 */
function entry(): string {
  const fs = process.env.SABUILD_UNBUNDLED ? undefined : (process.getBuiltinModule?.("node:fs") as typeof import("node:fs") | undefined);
  const bundle = fs?.statSync(new URL("../cli-bundle/run.js", import.meta.url), { throwIfNoEntry: false });
  // tsc rewrites run.js on every compile: a bundle older than it is of other code.
  const modules = bundle && fs?.statSync(new URL("./run.js", import.meta.url), { throwIfNoEntry: false });
  return bundle && modules && bundle.mtimeMs >= modules.mtimeMs ? "../cli-bundle/run.js" : "./run.js";
}

await import(entry());
