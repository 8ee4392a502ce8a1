import type { ChatMessage } from "../../llm/types.js";
import { err, ok, type Result } from "../../result.js";

/**
 * What a CLI orchestrator says about its own run: Claude Code's `--output-format stream-json
 * --verbose` output, or the smaller contract any other CLI may print (docs/benchmarks.md, "Other
 * orchestrator CLIs"): one JSON object per line, the last one with `usage` being the result.
 * Lines that are not JSON objects (a banner, progress) are skipped.
 */
export interface CliReport {
  /** Claude Code's `subtype` ("success", "error_max_turns", ...), when given. */
  subtype?: string;
  is_error: boolean;
  /** The final answer text. */
  result?: string;
  num_turns?: number;
  /** Model requests of the main agent: distinct assistant message ids in the stream, else as reported. */
  model_calls?: number;
  total_cost_usd?: number;
  duration_api_ms?: number;
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number };
  /** Per-model figures as Claude Code reports them (kept as they came, for the trace). */
  model_usage?: Record<string, unknown>;
  /** The main agent's tool calls by tool: from the stream's tool_use blocks, else as reported. */
  tool_calls_by_tool: Record<string, number>;
  /** The conversation rebuilt from the stream, in the traces' (OpenAI) shape; empty without a stream. */
  messages: ChatMessage[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

export function readCliReport(stdout: string): Result<CliReport, string> {
  const lines: Obj[] = [];
  for (const line of stdout.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      const v = JSON.parse(t) as unknown;
      if (isObj(v)) lines.push(v);
    } catch {
      // Not one of ours: CLIs may print other lines.
    }
  }
  const result = lines.findLast((l) => l.type === "result") ?? lines.findLast((l) => isObj(l.usage) && l.type !== "assistant");
  if (!result) return err("it printed no JSON result (a line with `usage`, or Claude Code's `type: result`)");
  const u = result.usage as Obj;
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  if (input === undefined || output === undefined) return err("its result's usage has no input_tokens and output_tokens numbers");

  const messages: ChatMessage[] = [];
  const ids = new Set<string>();
  const byTool: Record<string, number> = {};
  let last: { id: string; message: ChatMessage } | undefined;
  for (const l of lines) {
    const m = isObj(l.message) ? l.message : undefined;
    // Subagents' own turns (Claude Code's Task tool) carry a parent; the main agent's do not.
    if (!m || (l.parent_tool_use_id !== null && l.parent_tool_use_id !== undefined)) continue;
    const blocks = Array.isArray(m.content) ? (m.content as unknown[]).filter(isObj) : typeof m.content === "string" ? [{ type: "text", text: m.content }] : [];
    if (l.type === "assistant") {
      const id = typeof m.id === "string" ? m.id : `line${messages.length}`;
      ids.add(id);
      // Claude Code streams one event per content block of the same response: they are one message.
      if (last?.id !== id) {
        last = { id, message: { role: "assistant", content: null } };
        messages.push(last.message);
      }
      for (const b of blocks) {
        if (b.type === "text" && typeof b.text === "string") last.message.content = (last.message.content ?? "") + b.text;
        if (b.type === "tool_use" && typeof b.name === "string") {
          byTool[b.name] = (byTool[b.name] ?? 0) + 1;
          (last.message.tool_calls ??= []).push({ id: String(b.id ?? ""), type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
        }
      }
    } else if (l.type === "user") {
      last = undefined;
      for (const b of blocks) {
        if (b.type !== "tool_result") continue;
        const c = b.content;
        const text = typeof c === "string" ? c : Array.isArray(c) ? c.filter(isObj).map((x) => (typeof x.text === "string" ? x.text : "")).join("") : "";
        messages.push({ role: "tool", tool_call_id: String(b.tool_use_id ?? ""), content: text });
      }
    }
  }
  const reported = isObj(result.tool_calls) ? Object.fromEntries(Object.entries(result.tool_calls).filter(([, n]) => num(n) !== undefined) as [string, number][]) : undefined;
  const calls = ids.size || num(result.model_calls) || num(result.num_turns);
  return ok({
    ...(typeof result.subtype === "string" ? { subtype: result.subtype } : {}),
    is_error: result.is_error === true,
    ...(typeof result.result === "string" ? { result: result.result } : {}),
    ...(num(result.num_turns) !== undefined ? { num_turns: num(result.num_turns)! } : {}),
    ...(calls !== undefined ? { model_calls: calls } : {}),
    ...(num(result.total_cost_usd) !== undefined ? { total_cost_usd: num(result.total_cost_usd)! } : {}),
    ...(num(result.duration_api_ms) !== undefined ? { duration_api_ms: num(result.duration_api_ms)! } : {}),
    usage: { input_tokens: input, output_tokens: output, cache_creation_input_tokens: num(u.cache_creation_input_tokens) ?? 0, cache_read_input_tokens: num(u.cache_read_input_tokens) ?? 0 },
    ...(isObj(result.modelUsage) ? { model_usage: result.modelUsage } : {}),
    tool_calls_by_tool: Object.keys(byTool).length ? byTool : (reported ?? {}),
    messages,
  });
}
