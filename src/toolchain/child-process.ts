import { createRequire } from "node:module";
import type * as ChildProcessModule from "node:child_process";

/**
 * node:child_process, loaded at the first spawn: it brings net, dgram and the stream classes
 * (~7 ms), and the modules that import it are loaded by every plan and no-op build, which spawn nothing.
 */
export function childProcess(): typeof ChildProcessModule {
  // getBuiltinModule: Node >= 22.3.
  return process.getBuiltinModule?.("node:child_process") ?? (createRequire(import.meta.url)("node:child_process") as typeof ChildProcessModule);
}
