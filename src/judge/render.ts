import type { ChatMessage } from "../llm/types.js";
import type { Trace } from "../traces/types.js";

/**
 * The transcript as the judge reads it: compact plain text, every tool call and result in order,
 * long texts cut in the middle with a marker that says how much is missing. The head of a tool
 * result usually says what was run and the tail how it ended, so both are kept.
 */

export interface RenderBudget {
  /** Characters of each tool result. */
  toolChars: number;
  /** Characters of the whole transcript. */
  totalChars: number;
}

const MIN_TOOL_CHARS = 200;
const ASSISTANT_CHARS = 4000;
const ARGUMENT_CHARS = 600;
const PROMPT_CHARS = 6000;
const INSTRUCTIONS_CHARS = 3000;

/** Cuts `text` to at most about `budget` characters, keeping its head and tail. */
export function truncateMiddle(text: string, budget: number): string {
  if (text.length <= budget) return text;
  const head = Math.ceil((budget * 2) / 3);
  const tail = budget - head;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}\n[... ${cut} characters truncated ...]\n${tail > 0 ? text.slice(text.length - tail) : ""}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Tool call arguments as compact JSON when they parse, as written otherwise. */
function compactArguments(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw));
  } catch {
    return oneLine(raw);
  }
}

function renderMessage(m: ChatMessage, turn: number, toolNames: Map<string, string>, toolChars: number): string {
  switch (m.role) {
    case "assistant": {
      const lines = [`[assistant, turn ${turn}]`];
      if (m.reasoning) lines.push(`(reasoning omitted: ${m.reasoning.length} characters)`);
      if (m.content?.trim()) lines.push(truncateMiddle(m.content.trim(), ASSISTANT_CHARS));
      for (const call of m.tool_calls ?? []) {
        lines.push(`-> call ${call.id}: ${call.function.name} ${truncateMiddle(compactArguments(call.function.arguments), ARGUMENT_CHARS)}`);
      }
      if (lines.length === 1) lines.push("(empty message)");
      return lines.join("\n");
    }
    case "tool": {
      const name = toolNames.get(m.tool_call_id ?? "") ?? m.name ?? "tool";
      const content = m.content ?? "";
      return `[tool result of ${m.tool_call_id ?? "?"}: ${name}, ${content.length} characters]\n${content ? truncateMiddle(content, toolChars) : "(empty)"}`;
    }
    case "user":
      return `[user]\n${truncateMiddle(m.content ?? "", PROMPT_CHARS)}`;
    case "system":
      return `[system]\n${truncateMiddle(m.content ?? "", INSTRUCTIONS_CHARS)}`;
  }
}

/** The conversation after the system prompt and the task, one block per message. */
function conversationBlocks(trace: Trace, toolChars: number): string[] {
  const toolNames = new Map<string, string>();
  const blocks: string[] = [];
  let turn = 0;
  const rest = trace.messages.slice(trace.messages[0]?.role === "system" ? 2 : 1);
  for (const m of rest) {
    if (m.role === "assistant") turn++;
    for (const call of m.tool_calls ?? []) toolNames.set(call.id, call.function.name);
    blocks.push(renderMessage(m, turn, toolNames, toolChars));
  }
  return blocks;
}

/** Drops blocks from the middle until the total fits, leaving a marker where they were. */
function fitBlocks(blocks: string[], budget: number): string[] {
  const size = (xs: string[]): number => xs.reduce((n, b) => n + b.length + 2, 0);
  if (size(blocks) <= budget) return blocks;
  let head = Math.ceil(blocks.length / 2);
  let tail = blocks.length - head;
  for (;;) {
    // Drop from the side that is larger, keeping the first steps and the ending in view.
    if (head >= tail && head > 1) head--;
    else if (tail > 1) tail--;
    else break;
    const kept = [...blocks.slice(0, head), `[... ${blocks.length - head - tail} messages omitted ...]`, ...blocks.slice(blocks.length - tail)];
    if (size(kept) <= budget) return kept;
  }
  return [...blocks.slice(0, head), `[... ${blocks.length - head - tail} messages omitted ...]`, ...blocks.slice(blocks.length - tail)];
}

function outcome(trace: Trace): string {
  const lines = [
    `status: ${trace.status}${trace.error ? ` (${oneLine(trace.error)})` : ""}`,
    `turns: ${trace.turns}, tool calls: ${trace.tool_calls}, tool errors: ${trace.tool_errors}`,
    `output contract <${trace.contract.tag}>: ${trace.contract.ok ? "held" : "not held"}`,
  ];
  lines.push(trace.final_answer !== undefined ? `final answer (inside <${trace.contract.tag}>):\n${truncateMiddle(trace.final_answer, PROMPT_CHARS)}` : "final answer: none");
  return lines.join("\n");
}

/**
 * Renders a trace for the judge. Tool results are cut to `toolChars`; when the whole is still
 * over `totalChars`, tool results shrink further (down to 200 characters), then whole messages
 * are left out of the middle.
 */
export function renderTrace(trace: Trace, budget: RenderBudget): string {
  let toolChars = budget.toolChars;
  let blocks = conversationBlocks(trace, toolChars);
  const fixed = outcome(trace).length + 200;
  const total = (): number => blocks.reduce((n, b) => n + b.length + 2, 0) + fixed;
  while (total() > budget.totalChars && toolChars > MIN_TOOL_CHARS) {
    toolChars = Math.max(MIN_TOOL_CHARS, Math.floor(toolChars / 2));
    blocks = conversationBlocks(trace, toolChars);
  }
  blocks = fitBlocks(blocks, Math.max(0, budget.totalChars - fixed));
  return [...blocks, `[outcome]\n${outcome(trace)}`].join("\n\n");
}

/** The subagent's instructions: the system prompt the rollout ran with. */
export function renderInstructions(trace: Trace): string {
  const system = trace.messages[0]?.role === "system" ? trace.messages[0].content ?? "" : "";
  return truncateMiddle(system.trim(), INSTRUCTIONS_CHARS) || "(none)";
}

export function renderTask(trace: Trace): string {
  return truncateMiddle(trace.task.prompt.trim(), PROMPT_CHARS);
}
