import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoutePolicy } from "../src/route/policy.js";
import type { Gateway } from "../src/serve/gateway.js";
import type { Standin } from "../src/standin/server.js";
import type { LlamaServer } from "../src/toolchain/runners.js";
import { REPO, tempDir } from "./helpers.js";
import { TEST_PYTHON, tinyGguf } from "./support/tiny-gguf.js";

// The cascade's confidence check against a real llama-server (the tiny random-init Qwen3): the
// gateway asks for log-probabilities, llama-server sends them in its own shape, and the check
// reads them. The random model is unsure of every token, so a high floor must escalate and a
// floor of 0 must not.

const dist = <T>(path: string): Promise<T> => import(join(REPO, "dist", path)) as Promise<T>;

describe("cascade confidence on llama-server's log-probabilities", () => {
  let server: LlamaServer;
  let teacher: Standin;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    const gguf = await tinyGguf();
    const { ensureLlamaTools } = await dist<typeof import("../src/toolchain/llamacpp.js")>("toolchain/llamacpp.js");
    const tools = await ensureLlamaTools(tempDir("sabuild-route-llama-"), {}, { python: TEST_PYTHON });
    server = await tools.server.start({ model: gguf, args: ["--parallel", "1"], log: () => undefined });
    const { startStandin } = await dist<typeof import("../src/standin/server.js")>("standin/server.js");
    teacher = await startStandin({ policy: () => ({ content: "<final_answer>teacher</final_answer>" }) });
  }, 300_000);
  afterAll(async () => {
    await Promise.all([...gateways.map((g) => g.close()), server?.stop(), teacher?.close()]);
  });

  async function ask(minConfidence: number) {
    const { startGateway } = await dist<typeof import("../src/serve/gateway.js")>("serve/gateway.js");
    const policy: RoutePolicy = { name: "cascade", escalateOn: new Set(["error", "timeout"]), checks: { contract: false, minConfidence, combine: "any" }, threshold: 0.5 };
    const g = await startGateway({
      students: [{ name: "tiny", baseUrl: `${server.url}/v1`, model: "student", timeoutMs: 60_000, contractTag: "final_answer", policy }],
      teacher: { baseUrl: teacher.url, model: "big", timeoutMs: 10_000 },
    });
    gateways.push(g);
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "subagent/tiny", max_tokens: 8, temperature: 0, messages: [{ role: "user", content: "Where is the retry policy?" }] }).withResponse();
    return { who: r.response.headers.get("x-sabuild-answered-by"), reason: r.response.headers.get("x-sabuild-route-reason"), sabuild: (r.data as unknown as { sabuild: { confidence?: number; route_detail?: string } }).sabuild, logprobs: r.data.choices[0]!.logprobs };
  }

  it("escalates below the floor with the measured confidence, and keeps the student's answer at floor 0", async () => {
    const high = await ask(0.99);
    expect(high).toMatchObject({ who: "teacher", reason: "confidence" });
    expect(high.sabuild.route_detail).toMatch(/^mean token probability 0\.\d{3} < 0\.99$/);
    const low = await ask(0);
    expect(low).toMatchObject({ who: "student", reason: "passed" });
    expect(low.sabuild.confidence).toBeGreaterThan(0);
    expect(low.sabuild.confidence).toBeLessThan(0.99);
    // The client did not ask for log-probabilities: the gateway's own request for them stays its own.
    expect(low.logprobs ?? null).toBeNull();
  }, 120_000);
});
