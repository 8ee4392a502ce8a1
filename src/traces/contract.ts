/**
 * The output contract: the subagent's answer goes inside <tag>...</tag> (default final_answer),
 * so an orchestrator can take the condensed answer without the working notes around it.
 */

export interface ContractCheck {
  ok: boolean;
  /** The text inside the last complete tag pair, trimmed. */
  answer?: string;
  /** Why the contract does not hold. */
  reason?: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function checkContract(content: string | null | undefined, tag: string): ContractCheck {
  if (!content || !content.trim()) return { ok: false, reason: "the final message is empty" };
  const t = escapeRegExp(tag);
  const pairs = [...content.matchAll(new RegExp(`<${t}>([\\s\\S]*?)</${t}>`, "g"))];
  const last = pairs.at(-1);
  if (!last) {
    const opened = new RegExp(`<${t}>`).test(content);
    return { ok: false, reason: opened ? `<${tag}> is never closed` : `no <${tag}>...</${tag}> in the final message` };
  }
  const answer = last[1]!.trim();
  if (!answer) return { ok: false, reason: `<${tag}></${tag}> is empty` };
  return { ok: true, answer };
}

/** What the system prompt says about the contract, after the subagent's own instructions. */
export function contractInstructions(tag: string): string {
  return [
    "## Output contract",
    `When you are done, reply with your final answer inside <${tag}>...</${tag}>, in the same message and without calling more tools.`,
    "Put only the condensed result the caller needs inside the tags: findings, file paths with line numbers, commands and their outcomes.",
  ].join("\n");
}

/** Asked once when the turn cap is reached. */
export function turnCapMessage(tag: string | undefined, maxTurns: number): string {
  const where = tag ? `, inside <${tag}>...</${tag}>,` : "";
  return `You have used all ${maxTurns} turns. Do not call any more tools. Give your final answer now${where} based on what you found so far.`;
}
