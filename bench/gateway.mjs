// Gateway overhead per routing policy: the same chat completion sent straight to a model server
// and through `sabuild serve`'s gateway under each route policy, sequentially over keep-alive.
//
//   node bench/gateway.mjs [--requests 2000] [--policies fallback,student,...]
//
// The model servers are stand-ins with no latency, so the difference is the gateway's own cost:
// routing, the checks, metrics. The student's reply keeps its contract and is sure of itself, so
// no policy escalates and every one does its full work on the student's path. The judge-checked
// cascade's extra cost is the judge call (rubric prompt, a stand-in judge's reply, parsing),
// reported, not held to the goal. The learned router scores each prompt against 500 outcomes.
import { Agent, request } from "node:http";
import { join } from "node:path";
import { options, positive, requireDist } from "./lib.mjs";

const ALL = ["fallback", "student", "teacher", "cascade", "cascade-judge", "learned"];
const o = options({ requests: { type: "string", default: "2000" }, policies: { type: "string", default: ALL.join(",") } }, "node bench/gateway.mjs [--requests N] [--policies a,b]");
const n = positive("requests", o.requests);
const policies = o.policies.split(",").filter(Boolean);
for (const p of policies) if (!ALL.includes(p)) throw new Error(`unknown policy ${p}: one of ${ALL.join(", ")}`);
const dist = requireDist();
const { startStandin } = await import(join(dist, "standin/server.js"));
const { startGateway } = await import(join(dist, "serve/gateway.js"));
const { openRouter, routerFile } = await import(join(dist, "route/router.js"));
const { answerJudge } = await import(join(dist, "route/judge-check.js"));
const { resolveRubric } = await import(join(dist, "judge/rubric.js"));
const { judgeStandinPolicy } = await import(join(dist, "judge/standin-policy.js"));
const { createChatClient } = await import(join(dist, "llm/client.js"));

const reply = { content: "Done. <final_answer>src/retry.py:12</final_answer>", logprobs: [-0.01, -0.02, -0.01, -0.03] };
const student = await startStandin({ policy: () => reply });
const teacher = await startStandin({ policy: () => reply });
const judgeServer = await startStandin({ policy: judgeStandinPolicy });

const words = ["retry", "parser", "config", "network", "pool", "cache", "token", "socket", "schema", "lock", "queue", "index"];
const outcomes = Array.from({ length: 500 }, (_, i) => ({ id: `t${i}`, text: `fix the ${words[i % 12]} ${words[(i * 7) % 12]} bug in module ${i % 37}`, success: i % 3 !== 0, source: "eval" }));
const rubric = resolveRubric({});
if (!rubric.ok) throw new Error("the built-in rubric did not resolve");
const judgeClient = createChatClient({ baseUrl: judgeServer.url, apiKey: "", model: "judge", cache: false, timeoutMs: 10_000, retry: { maxRetries: 0 }, pricing: { input_per_mtok: 0, output_per_mtok: 0 } });

const escalateOn = new Set(["error", "timeout", "contract"]);
const base = { escalateOn, checks: { contract: true, combine: "any" }, threshold: 0.3 };
const routeFor = {
  fallback: {},
  student: { policy: { ...base, name: "student" } },
  teacher: { policy: { ...base, name: "teacher" } },
  cascade: { policy: { ...base, name: "cascade", checks: { contract: true, hardChecks: { maxTurns: 10, maxRepeatedToolCalls: 3 }, minConfidence: 0.5, combine: "any" } } },
  "cascade-judge": {
    policy: { ...base, name: "cascade", checks: { contract: true, minJudgeScore: 0, combine: "any" } },
    judge: answerJudge({ client: judgeClient, model: "judge", rubric: rubric.value, subagent: "searcher", tag: "final_answer" }),
  },
  learned: { policy: { ...base, name: "learned" }, router: openRouter(routerFile(outcomes)) },
};
const gateways = {};
for (const p of policies) {
  gateways[p] = await startGateway({
    students: [{ name: "searcher", baseUrl: student.url, model: "student", timeoutMs: 10_000, contractTag: "final_answer", ...routeFor[p] }],
    teacher: { baseUrl: teacher.url, model: "teacher", timeoutMs: 10_000 },
  });
}
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(url, model, expectAnswer) {
  const body = JSON.stringify({ model, messages: [{ role: "system", content: "You locate code." }, { role: "user", content: "fix the retry parser bug in module 3" }] });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      const who = res.headers["x-sabuild-answered-by"];
      res.resume();
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        if (expectAnswer && who !== expectAnswer) return reject(new Error(`answered by ${who}, expected ${expectAnswer}`));
        resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
async function measure(url, model, expectAnswer) {
  for (let i = 0; i < 200; i++) await post(url, model, expectAnswer); // warm-up
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await post(url, model, expectAnswer));
  return { p50: quantile(xs, 0.5), p95: quantile(xs, 0.95) };
}

// Interleaved rounds, so machine noise hits all alike; the best round of each counts.
const direct = [];
const via = Object.fromEntries(policies.map((p) => [p, []]));
for (let round = 0; round < 3; round++) {
  direct.push(await measure(`${student.url}/chat/completions`, "student"));
  for (const p of policies) via[p].push(await measure(`${gateways[p].url}/v1/chat/completions`, "subagent/searcher", p === "teacher" ? "teacher" : "student"));
}
const best = (rs, k) => Math.min(...rs.map((r) => r[k]));
const result = { requests: n, direct_ms: { p50: best(direct, "p50"), p95: best(direct, "p95") }, policies: {} };
console.log(`direct model server: p50 ${result.direct_ms.p50.toFixed(2)} ms  p95 ${result.direct_ms.p95.toFixed(2)} ms`);
for (const p of policies) {
  const g = { p50: best(via[p], "p50"), p95: best(via[p], "p95") };
  const overhead = { p50: g.p50 - result.direct_ms.p50, p95: g.p95 - result.direct_ms.p95 };
  result.policies[p] = { gateway_ms: g, overhead_ms: overhead };
  const goal = p === "cascade-judge" ? "(its cost is the judge call: no goal)" : overhead.p50 < 2 ? "(goal p50 < 2 ms: met)" : "(goal p50 < 2 ms: MISSED)";
  console.log(`${p.padEnd(13)} gateway p50 ${g.p50.toFixed(2)} ms  p95 ${g.p95.toFixed(2)} ms  overhead p50 ${overhead.p50.toFixed(2)} ms  p95 ${overhead.p95.toFixed(2)} ms ${goal}`);
}
console.log(JSON.stringify(result));
agent.destroy();
await Promise.all([...Object.values(gateways).map((g) => g.close()), student.close(), teacher.close(), judgeServer.close()]);
