#!/usr/bin/env node
// The teacher client's own cost against the stand-in on loopback: requests per second with no
// latency (client + server overhead), the same with the response cache writing, then a rerun
// served from the cache (what a rebuild pays), and a rollout-shaped load (growing prompts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadavg } from "node:os";
import { log, options, positive, requireDist, round, table } from "./lib.mjs";

const usage = `node bench/rollout-client.mjs [--calls N] [--concurrency N] [--turns N] [--json] [--keep]
  --calls        independent requests per phase (default 2000)
  --concurrency  client concurrency (default 8)
  --turns        turns per rollout in the rollout phase (default 10; calls/turns rollouts)`;
const opts = options(
  { calls: { type: "string", default: "2000" }, concurrency: { type: "string", default: "8" }, turns: { type: "string", default: "10" }, json: { type: "boolean" }, keep: { type: "boolean" } },
  usage,
);
const calls = positive("calls", opts.calls);
const concurrency = positive("concurrency", opts.concurrency);
const turns = positive("turns", opts.turns);
const dist = requireDist();
const { createChatClient } = await import(join(dist, "llm/index.js"));
const { startStandin, echoPolicy } = await import(join(dist, "standin/index.js"));

const standin = await startStandin({ policy: echoPolicy });
const store = mkdtempSync(join(tmpdir(), "sabuild-bench-llm-"));
const make = (cache) => createChatClient({ baseUrl: standin.url, apiKey: "", model: "gpt-4.1", concurrency, cache, warn: () => {} });
const prompt = (i) => ({ model: "gpt-4.1", messages: [{ role: "system", content: "You run tests. ".repeat(100) }, { role: "user", content: `task ${i}` }] });

async function phase(name, client, n, make) {
  const before = standin.stats.requests;
  const started = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => client.complete(make(i))));
  const ms = performance.now() - started;
  const row = { phase: name, calls: n, http_requests: standin.stats.requests - before, ms: round(ms), calls_per_s: round((n / ms) * 1000), ms_per_call: round(ms / n, 3) };
  log(`${name}: ${row.calls_per_s} calls/s`);
  return row;
}

/** A rollout: each turn sends the whole conversation so far, as the traces stage does. */
async function rollouts(client, n) {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.max(1, Math.floor(n / turns)) }, async (_, r) => {
      const messages = [{ role: "system", content: "You run tests. ".repeat(100) }, { role: "user", content: `rollout ${r}` }];
      for (let t = 0; t < turns; t++) {
        const reply = await client.complete({ model: "gpt-4.1", messages: [...messages] }, { cacheSalt: `${r}~0` });
        messages.push(reply.message, { role: "user", content: `tool output ${t} `.repeat(40) });
      }
    }),
  );
  return performance.now() - started;
}

const rows = [];
rows.push(await phase("no cache", make(false), calls, prompt));
rows.push(await phase("cache (cold, writes)", make(store), calls, (i) => prompt(i + calls)));
rows.push(await phase("cache (warm, rebuild)", make(store), calls, (i) => prompt(i + calls)));
const before = standin.stats.requests;
const coldMs = await rollouts(make(store), calls);
const coldRequests = standin.stats.requests - before;
const warmMs = await rollouts(make(store), calls);
rows.push({ phase: `rollouts x${turns} turns (cold)`, calls: coldRequests, http_requests: coldRequests, ms: round(coldMs), calls_per_s: round((coldRequests / coldMs) * 1000), ms_per_call: round(coldMs / coldRequests, 3) });
rows.push({ phase: `rollouts x${turns} turns (warm)`, calls: coldRequests, http_requests: standin.stats.requests - before - coldRequests, ms: round(warmMs), calls_per_s: round((coldRequests / warmMs) * 1000), ms_per_call: round(warmMs / coldRequests, 3) });
await standin.close();
if (!opts.keep) rmSync(store, { recursive: true, force: true });

const result = { concurrency, load: loadavg().map((l) => round(l, 2)), rows };
if (opts.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`concurrency ${concurrency}, load average ${result.load.join(" ")}`);
  console.log(table([["phase", "calls", "http requests", "ms", "calls/s", "ms/call"], ...rows.map((r) => [r.phase, r.calls, r.http_requests, r.ms, r.calls_per_s, r.ms_per_call])]));
}
