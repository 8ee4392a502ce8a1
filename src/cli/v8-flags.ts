import { setFlagsFromString } from "node:v8";

/**
 * Scavenges (young-generation GCs) on the main thread alone. A no-op build runs seven or eight
 * of them, each over a young generation of 1-3 MB where nearly everything survives (modules,
 * the lock, the config); with helper threads on a busy 2-core machine each one waited for its
 * helpers, and the no-op spent ~55 ms in GC instead of ~40 (median of 8, --trace-gc). Imported
 * first by run.ts, so it is set before the command's modules load. Old-generation marking
 * stays concurrent: a long build with a large heap keeps its background marking.
 */
setFlagsFromString("--no-parallel-scavenge");

/**
 * Commands that mostly decide (a no-op build, plan, status) run ~100 ms of JavaScript and exit.
 * In that time V8's optimizing compilers (Maglev, then TurboFan) compile the hot functions on
 * background threads, and the code is thrown away at exit: on a no-op build of 1,000 stages they
 * cost ~30 CPU-ms of its ~230 and 5-8 ms of wall time on 2 cores (interleaved A/B, 41 rounds),
 * while the engine's own time did not grow without them (the bytecode and Sparkplug tiers stay).
 * So these commands start with them off, and build turns them on when a stage starts: the work
 * from there (stages in process, the store, model clients) is what they are for. Other commands
 * (serve, watch, bench, library, ...) keep V8's defaults from the start.
 */
const DECIDING = new Set(["build", "plan", "status", "explain", "artifacts"]);
let optimizersOff = false;
if (DECIDING.has(process.argv[2] ?? "")) {
  setFlagsFromString("--no-maglev");
  setFlagsFromString("--no-turbofan");
  optimizersOff = true;
}

/** V8's optimizing compilers on again (see above): cheap, and a no-op when they already are. */
export function optimizeFromNowOn(): void {
  if (!optimizersOff) return;
  optimizersOff = false;
  setFlagsFromString("--maglev");
  setFlagsFromString("--turbofan");
}
