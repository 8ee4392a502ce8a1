import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The chat endpoint contract: what sabuild's teacher client, eval and the gateway rely on in an
 * OpenAI-compatible server, checked with the real `openai` client. It holds for the stand-in
 * (which tests put in place of a remote API) and for llama-server (which serves the student), so
 * a test that passes against the stand-in says something about the real thing.
 */

export interface ChatEndpointUnderTest {
  /** Base URL, ending in /v1. */
  baseURL: string;
  apiKey?: string;
  close(): Promise<void>;
}

const GREP: ChatCompletionTool = {
  type: "function",
  function: { name: "Grep", description: "Searches file contents", parameters: { type: "object", properties: { pattern: { type: "string" } }, required: ["pattern"] } },
};

const MAX_TOKENS = 8;

export function describeChatEndpointContract(name: string, setup: () => Promise<ChatEndpointUnderTest>): void {
  describe(`chat endpoint contract: ${name}`, () => {
    let endpoint: ChatEndpointUnderTest;
    let client: OpenAI;
    let model: string;

    beforeAll(async () => {
      endpoint = await setup();
      client = new OpenAI({ baseURL: endpoint.baseURL, apiKey: endpoint.apiKey ?? "unused", maxRetries: 0, timeout: 60_000 });
      model = (await client.models.list()).data[0]?.id ?? "";
    }, 600_000);

    afterAll(() => endpoint?.close());

    const ask = (messages: ChatCompletionMessageParam[], extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}): ChatCompletionCreateParamsNonStreaming => ({
      model,
      messages,
      max_tokens: MAX_TOKENS,
      // Sampled with a fixed seed: the same request gets the same answer, streamed or not. (At
      // temperature 0 the tiny model answers only newlines, which llama-server streams as nothing.)
      temperature: 1,
      seed: 7,
      ...extra,
    });

    it("lists the models it serves", async () => {
      const models = await client.models.list();
      expect(models.data.length).toBeGreaterThan(0);
      for (const m of models.data) expect(m).toMatchObject({ id: expect.any(String), object: "model" });
    });

    it("answers a chat completion with one assistant message, a finish reason and token usage", async () => {
      const r = await client.chat.completions.create(ask([{ role: "system", content: "You answer briefly." }, { role: "user", content: "Where is the retry logic?" }]));
      expect(r).toMatchObject({ id: expect.any(String), object: "chat.completion" });
      expect(r.choices).toHaveLength(1);
      const choice = r.choices[0]!;
      expect(choice.index).toBe(0);
      expect(choice.message.role).toBe("assistant");
      expect(typeof choice.message.content).toBe("string");
      expect(["stop", "length"]).toContain(choice.finish_reason);
      expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
      expect(r.usage!.completion_tokens).toBeLessThanOrEqual(MAX_TOKENS);
      expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
    });

    it("takes a tool call and its result back, with the tools offered, and answers as the assistant", async () => {
      const r = await client.chat.completions.create(
        ask(
          [
            { role: "user", content: "Where is the retry logic?" },
            { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "Grep", arguments: '{"pattern":"retry"}' } }] },
            { role: "tool", tool_call_id: "call_1", content: "src/llm/retry.ts:12: export async function withRetry(" },
          ],
          { tools: [GREP] },
        ),
      );
      const choice = r.choices[0]!;
      expect(choice.message.role).toBe("assistant");
      expect(["stop", "length", "tool_calls"]).toContain(choice.finish_reason);
      // Whatever the model chose, a tool call it makes is well formed and names an offered tool.
      for (const call of choice.message.tool_calls ?? []) {
        expect(call).toMatchObject({ id: expect.any(String), type: "function" });
        if (call.type === "function") {
          expect(call.function.name).toBe("Grep");
          expect(() => JSON.parse(call.function.arguments) as unknown).not.toThrow();
        }
      }
      if (!choice.message.tool_calls?.length) expect(typeof choice.message.content).toBe("string");
    });

    it("streams the answer it gives without streaming, in chunks, with usage when asked", async () => {
      const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Say where the tests live." }];
      const whole = await client.chat.completions.create(ask(messages));
      const stream = await client.chat.completions.create({ ...ask(messages), stream: true, stream_options: { include_usage: true } });
      let text = "";
      let finish: string | null = null;
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        expect(chunk.object).toBe("chat.completion.chunk");
        chunks++;
        const choice = chunk.choices[0];
        if (choice) {
          text += choice.delta.content ?? "";
          finish = choice.finish_reason ?? finish;
        }
        usage = chunk.usage ?? usage;
      }
      expect(chunks).toBeGreaterThan(1);
      expect(text).toBe(whole.choices[0]!.message.content);
      expect(finish).toBe(whole.choices[0]!.finish_reason);
      expect(usage?.completion_tokens).toBe(whole.usage!.completion_tokens);
    });

    it("refuses a request without messages, or with messages that are not a list, as a 400 the client raises", async () => {
      for (const body of [{ model }, { model, messages: "Where is the retry logic?" }]) {
        const failed = await client.chat.completions.create(body as unknown as ChatCompletionCreateParamsNonStreaming).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(failed).toBeInstanceOf(OpenAI.BadRequestError);
        expect((failed as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
        expect((failed as Error).message).toMatch(/messages/);
      }
    });
  });
}
