// Gateway overhead: the same chat completion sent straight to a model server and through
// `sabuild serve`'s gateway (routing, contract check, metrics), sequentially over keep-alive.
//
//   node bench/gateway.mjs [--requests 2000]
//
// The model server is the stand-in with no latency, so the difference is the gateway's own cost.
import { Agent, request } from "node:http";
import { join } from "node:path";
import { options, positive, requireDist } from "./lib.mjs";

const o = options({ requests: { type: "string", default: "2000" } }, "node bench/gateway.mjs [--requests N]");
const n = positive("requests", o.requests);
const dist = requireDist();
const { startStandin } = await import(join(dist, "standin/server.js"));
const { startGateway } = await import(join(dist, "serve/gateway.js"));

const student = await startStandin({ policy: () => ({ content: "Done. <final_answer>src/retry.py:12</final_answer>" }) });
const gateway = await startGateway({ students: [{ name: "searcher", baseUrl: student.url, model: "student", timeoutMs: 10_000, contractTag: "final_answer" }] });
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(url, model) {
  const body = JSON.stringify({ model, messages: [{ role: "system", content: "You locate code." }, { role: "user", content: "Where is the retry policy?" }] });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
async function measure(url, model) {
  for (let i = 0; i < 200; i++) await post(url, model); // warm-up
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await post(url, model));
  return { p50: quantile(xs, 0.5), p95: quantile(xs, 0.95) };
}

// Interleaved rounds, so machine noise hits both alike.
const direct = [];
const via = [];
for (let round = 0; round < 3; round++) {
  direct.push(await measure(`${student.url}/chat/completions`, "student"));
  via.push(await measure(`${gateway.url}/v1/chat/completions`, "subagent/searcher"));
}
const best = (rs, k) => Math.min(...rs.map((r) => r[k]));
const result = {
  requests: n,
  direct_ms: { p50: best(direct, "p50"), p95: best(direct, "p95") },
  gateway_ms: { p50: best(via, "p50"), p95: best(via, "p95") },
};
result.overhead_ms = { p50: result.gateway_ms.p50 - result.direct_ms.p50, p95: result.gateway_ms.p95 - result.direct_ms.p95 };
console.log(`direct:  p50 ${result.direct_ms.p50.toFixed(2)} ms  p95 ${result.direct_ms.p95.toFixed(2)} ms`);
console.log(`gateway: p50 ${result.gateway_ms.p50.toFixed(2)} ms  p95 ${result.gateway_ms.p95.toFixed(2)} ms`);
console.log(`overhead: p50 ${result.overhead_ms.p50.toFixed(2)} ms  p95 ${result.overhead_ms.p95.toFixed(2)} ms (goal: p50 < 2 ms)`);
console.log(JSON.stringify(result));
agent.destroy();
await gateway.close();
await student.close();
