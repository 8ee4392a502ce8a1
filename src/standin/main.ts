#!/usr/bin/env node
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { echoPolicy } from "./policy.js";
import { startStandin, type StandinPolicy } from "./server.js";

/**
 * node dist/standin/main.js [--policy module.mjs] [--port N] [--host H] [--latency-ms N]
 *
 * Serves an OpenAI-compatible stand-in until SIGINT/SIGTERM. The policy module's default export
 * (or its `policy` export) decides each reply; without one, the echo policy answers. The first
 * line on stdout is the base URL.
 */
const usage = "usage: node dist/standin/main.js [--policy module.mjs] [--port N] [--host 127.0.0.1] [--latency-ms N] [--model NAME]";

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        policy: { type: "string" },
        port: { type: "string", default: "0" },
        host: { type: "string", default: "127.0.0.1" },
        "latency-ms": { type: "string", default: "0" },
        model: { type: "string", multiple: true },
        help: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    return fail(`${(e as Error).message}\n${usage}`);
  }
  if (args.help) return void process.stdout.write(`${usage}\n`);
  const port = Number(args.port);
  const latencyMs = Number(args["latency-ms"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`--port must be an integer from 0 to 65535\n${usage}`);
  if (!Number.isFinite(latencyMs) || latencyMs < 0) return fail(`--latency-ms must be a number >= 0\n${usage}`);
  let policy: StandinPolicy = echoPolicy;
  if (args.policy) {
    let mod: { default?: unknown; policy?: unknown };
    try {
      mod = (await import(pathToFileURL(resolve(args.policy)).href)) as typeof mod;
    } catch (e) {
      return fail(`cannot load policy module ${args.policy}: ${(e as Error).message}`);
    }
    const exported = mod.default ?? mod.policy;
    if (typeof exported !== "function") return fail(`${args.policy} must export a policy function (default export or "policy")`);
    policy = exported as StandinPolicy;
  }
  let standin;
  try {
    standin = await startStandin({ policy, port, host: args.host, latencyMs, ...(args.model ? { models: args.model } : {}) });
  } catch (e) {
    return fail(`cannot listen on ${args.host}:${port}: ${(e as Error).message}`);
  }
  process.stdout.write(`${standin.url}\n`);
  process.stderr.write(`OpenAI-compatible stand-in listening on ${standin.url} (not a real model)\n`);
  const stop = (): void => void standin.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

function fail(message: string): void {
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = 2;
}

await main();
