#!/usr/bin/env node
// A namespace import: a named one of a missing export fails to link on Nodes before 22.1.
import * as nodeModule from "node:module";

// Node caches compiled code on disk (in the OS temp dir): later starts skip parsing the modules.
// Turned on before anything else loads, so it covers every module of the command, run.js's own
// static imports too (they are compiled when run.js is linked, before its body could ask).
nodeModule.enableCompileCache?.();
await import("./run.js");
