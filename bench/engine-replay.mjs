// The child of engine.mjs's engineCeiling: replays container shapes with sabuild's own sandbox
// code (openSandbox, exec, close), one container after another (or `concurrency` at a time),
// and reports its own CPU. Reads one JSON request a line on stdin ({image, shapes: [{execs:
// [...]}], rounds, concurrency?}); answers each with a line {cpuMs, wallMs, items}. Ends when
// stdin does.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { requireDist } from "./lib.mjs";

const { openSandbox } = await import(pathToFileURL(join(requireDist(), "sandbox/index.js")).href);

async function one(image, shape) {
  const s = await openSandbox(image);
  for (const e of shape.execs) {
    const r = await s.exec(e.argv, { user: e.user, cwd: e.cwd, timeoutMs: e.timeoutMs, ...(e.env ? { env: e.env } : {}), ...(e.stdin !== undefined ? { stdin: Buffer.from(e.stdin, "base64") } : {}) });
    if (r.exitCode === null) throw new Error(`a replayed command was killed: ${JSON.stringify(e.argv).slice(0, 200)}`);
  }
  await s.close();
}

for await (const line of createInterface({ input: process.stdin })) {
  const { image, shapes, rounds, concurrency = 1 } = JSON.parse(line);
  const queue = Array.from({ length: rounds }, () => shapes).flat();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    while (next < queue.length) await one(image, queue[next++]);
  }));
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0, items: queue.length })}\n`);
}
