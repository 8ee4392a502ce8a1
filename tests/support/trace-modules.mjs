// Loaded with `node --import` before the CLI: records every module file it loads (ESM, and the
// entry of each CommonJS package) in $SABUILD_TRACE_MODULES, one URL a line, and at exit the
// built-in modules Node loaded, as `node:<name>` (internal ones too: node:internal/crypto/webcrypto).
import { appendFileSync } from "node:fs";
import { register } from "node:module";

process.on("exit", () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => `node:${m.slice("NativeModule ".length)}\n`);
  appendFileSync(process.env.SABUILD_TRACE_MODULES, builtins.join(""));
});

register(`data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(${JSON.stringify(process.env.SABUILD_TRACE_MODULES)}, url + "\\n");
  return next(url, context);
}`)}`);
