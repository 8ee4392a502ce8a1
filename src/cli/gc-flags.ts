import { setFlagsFromString } from "node:v8";

/**
 * Scavenges (young-generation GCs) on the main thread alone. A no-op build runs seven or eight
 * of them, each over a young generation of 1-3 MB where nearly everything survives (modules,
 * the lock, the config); with helper threads on a busy 2-core machine each one waited for its
 * helpers, and the no-op spent ~55 ms in GC instead of ~40 (median of 8, --trace-gc). Imported
 * first by main.ts, so it is set before the command's modules load. Old-generation marking
 * stays concurrent: a long build with a large heap keeps its background marking.
 */
setFlagsFromString("--no-parallel-scavenge");
