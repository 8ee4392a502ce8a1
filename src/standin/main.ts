#!/usr/bin/env node
import { runStandin } from "./cli.js";

/** node dist/standin/main.js [options]: the stand-in without the rest of the CLI (see cli.ts). */
process.exitCode = await runStandin(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
