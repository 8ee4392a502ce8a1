import { createRequire } from "node:module";
import type * as ChildProcessModule from "node:child_process";
import type * as CryptoModule from "node:crypto";
import type * as UtilModule from "node:util";

/**
 * Node's built-in modules for code on the path of every plan and no-op build, loaded without an
 * ES module import. `import ... from "node:util"` builds an ES facade of the whole module, which
 * runs every lazy export (TextDecoder, ...): ~6 ms for one parseArgs. node:child_process brings
 * net, dgram and the stream classes (~7 ms), and is only needed at the first spawn. The facade of
 * node:crypto reads its lazy `webcrypto` and `subtle` exports, which load all of WebCrypto.
 */
function builtin<T>(name: string): T {
  // getBuiltinModule: Node >= 22.3.
  return (process.getBuiltinModule?.(name) as T | undefined) ?? (createRequire(import.meta.url)(name) as T);
}

export function childProcess(): typeof ChildProcessModule {
  return builtin("node:child_process");
}

export function nodeUtil(): typeof UtilModule {
  return builtin("node:util");
}

export function nodeCrypto(): typeof CryptoModule {
  return builtin("node:crypto");
}
