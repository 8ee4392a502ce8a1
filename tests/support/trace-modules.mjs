// Loaded with `node --import` before the CLI: records every module file it loads (ESM, and the
// entry of each CommonJS package) in $SABUILD_TRACE_MODULES, one URL a line.
import { register } from "node:module";

register(`data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(${JSON.stringify(process.env.SABUILD_TRACE_MODULES)}, url + "\\n");
  return next(url, context);
}`)}`);
