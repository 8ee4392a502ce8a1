import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { echoPolicy } from "./policy.js";
import { blockText, startMessagesStandin, type MessagesPolicy } from "./messages.js";
import { startStandin, type StandinPolicy } from "./server.js";

export const standinHelp = `sabuild standin [--policy module.mjs] [--port N] [--host 127.0.0.1] [--latency-ms N] [--model NAME]... [--messages]
  Serves an OpenAI-compatible stand-in for a teacher model (POST /v1/chat/completions, plain and
  streamed; GET /v1/models) until interrupted. The policy module's default export (or its
  "policy" export) receives each request body and returns {content?, tool_calls?, reasoning?};
  without one, an echo policy answers. Prints the base URL (ending in /v1) as the first line.
  --messages serves Anthropic's Messages API instead (POST /v1/messages, as Claude Code talks);
  the policy then receives Messages request bodies, and the URL printed is ANTHROPIC_BASE_URL's.
  Replies carry the header x-sabuild-standin: 1. Not a model: for tests and offline examples.`;

/** Runs the stand-in until SIGINT/SIGTERM; returns the exit code (2 for bad arguments). */
export async function runStandin(argv: string[], out: { stdout: (text: string) => void; stderr: (text: string) => void }): Promise<number> {
  const fail = (message: string): number => (out.stderr(`error: ${message}\n`), 2);
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        policy: { type: "string" },
        port: { type: "string", default: "0" },
        host: { type: "string", default: "127.0.0.1" },
        "latency-ms": { type: "string", default: "0" },
        model: { type: "string", multiple: true },
        messages: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${standinHelp}`);
  }
  if (args.help) return (out.stdout(`${standinHelp}\n`), 0);
  const port = Number(args.port);
  const latencyMs = Number(args["latency-ms"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail("--port must be an integer from 0 to 65535");
  if (!Number.isFinite(latencyMs) || latencyMs < 0) return fail("--latency-ms must be a number >= 0");
  // The module's export, typed by the protocol it is served with (a module is not checked further).
  let policy: unknown;
  if (args.policy) {
    let mod: { default?: unknown; policy?: unknown };
    try {
      mod = (await import(pathToFileURL(resolve(args.policy)).href)) as typeof mod;
    } catch (e) {
      return fail(`cannot load policy module ${args.policy}: ${(e as Error).message}`);
    }
    const exported = mod.default ?? mod.policy;
    if (typeof exported !== "function") return fail(`${args.policy} must export a policy function (default export or "policy")`);
    policy = exported;
  }
  let standin;
  try {
    standin = args.messages
      ? await startMessagesStandin({ policy: (policy as MessagesPolicy | undefined) ?? echoMessages, port, host: args.host, latencyMs })
      : await startStandin({ policy: (policy as StandinPolicy | undefined) ?? echoPolicy, port, host: args.host, latencyMs, ...(args.model ? { models: args.model } : {}) });
  } catch (e) {
    return fail(`cannot listen on ${args.host}:${port}: ${(e as Error).message}`);
  }
  out.stdout(`${standin.url}\n`);
  out.stderr(`${args.messages ? "Messages-API" : "OpenAI-compatible"} stand-in listening on ${standin.url} (not a real model; Ctrl-C stops it)\n`);
  await new Promise<void>((done) => {
    process.once("SIGINT", () => done());
    process.once("SIGTERM", () => done());
  });
  await standin.close();
  return 0;
}

/** Without a policy, the Messages stand-in echoes the last user text. */
const echoMessages: MessagesPolicy = (request) => ({ content: `echo: ${blockText(request.messages.at(-1)?.content)}` });
