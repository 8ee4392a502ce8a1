import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { trainerEnv } from "../toolchain/dirs.js";
import type { LlamaServer } from "../toolchain/llamacpp.js";
import { lastJsonLine, runChecked } from "../toolchain/process.js";

/**
 * Does the exported model see the prompts it was trained on? A held-out row is rendered twice:
 * by the Hugging Face chat template and tokenizer (what training used, trainer/fidelity.py) and
 * by llama-server from the GGUF's own template and vocabulary (/apply-template, /tokenize). The
 * token ids must be equal. A chat completion with the row's tools must also come back as an
 * OpenAI response with a message, since that is how eval and serve will talk to the model.
 */

export interface Row {
  messages: Record<string, unknown>[];
  tools?: unknown[];
}

export interface HfRender {
  prompt: string;
  ids: number[];
  /** The messages rendered: the row cut before its last assistant turn. */
  messages: Record<string, unknown>[];
}

export interface FidelityReport {
  status: "pass" | "fail" | "skipped";
  reason?: string;
  row?: { file: string; index: number; messages: number; tools: number };
  gguf?: string;
  template?: { match: boolean; hf_chars: number; gguf_chars: number; first_diff?: { char: number; hf: string; gguf: string } };
  tokens?: { match: boolean; hf_count: number; gguf_count: number; first_diff?: { index: number; hf: number | null; gguf: number | null } };
  chat?: { ok: boolean; finish_reason?: string | null; content?: string | null; tool_calls?: number; error?: string };
}

function hasToolCall(row: Row): boolean {
  return row.messages.some((m) => m.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length > 0);
}

/** A held-out row from the dataset stage's output, preferring one with tool calls (they exercise most of the template). */
export function pickRow(datasetDir: string | undefined): { row: Row; file: string; index: number } | undefined {
  if (!datasetDir) return undefined;
  for (const file of ["validation.jsonl", "train.jsonl"]) {
    const path = join(datasetDir, file);
    if (!existsSync(path)) continue;
    const rows = readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Row)
      .filter((r) => Array.isArray(r.messages) && r.messages.length > 0);
    const index = Math.max(0, rows.findIndex(hasToolCall));
    if (rows[index]) return { row: rows[index], file, index };
  }
  return undefined;
}

export async function renderWithHf(python: string, modelDir: string, row: Row, workDir: string, opts: { signal?: AbortSignal; log?: (l: string) => void }): Promise<HfRender> {
  const rowFile = join(workDir, "fidelity-row.json");
  await writeFile(rowFile, JSON.stringify({ messages: row.messages, tools: row.tools ?? [] }));
  const r = await runChecked("trainer.fidelity (Hugging Face chat template)", python, ["-m", "trainer.fidelity", "--model", modelDir, "--row", rowFile], {
    env: trainerEnv(),
    ...opts,
  });
  return lastJsonLine<HfRender>(r.stdout);
}

async function post<T>(server: LlamaServer, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const r = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(300_000)]) : AbortSignal.timeout(300_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`llama-server ${path} answered ${r.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

function context(text: string, at: number): string {
  return text.slice(Math.max(0, at - 40), at + 40);
}

function firstDiff<T>(a: ArrayLike<T>, b: ArrayLike<T>): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? undefined : n;
}

/** Compares the HF rendering with llama-server's, and asks for one completion with tools. */
export async function compareWithServer(server: LlamaServer, hf: HfRender, tools: unknown[], signal?: AbortSignal): Promise<Pick<FidelityReport, "status" | "template" | "tokens" | "chat">> {
  const toolsField = tools.length ? { tools } : {};
  const applied = await post<{ prompt: string }>(server, "/apply-template", { messages: hf.messages, ...toolsField }, signal);
  const tokenized = await post<{ tokens: (number | { id: number })[] }>(server, "/tokenize", { content: applied.prompt, add_special: false, parse_special: true }, signal);
  const ggufIds = tokenized.tokens.map((t) => (typeof t === "number" ? t : t.id));

  const charDiff = firstDiff(hf.prompt, applied.prompt);
  const template: FidelityReport["template"] = {
    match: charDiff === undefined,
    hf_chars: hf.prompt.length,
    gguf_chars: applied.prompt.length,
    ...(charDiff !== undefined ? { first_diff: { char: charDiff, hf: context(hf.prompt, charDiff), gguf: context(applied.prompt, charDiff) } } : {}),
  };
  const tokenDiff = firstDiff(hf.ids, ggufIds);
  const tokens: FidelityReport["tokens"] = {
    match: tokenDiff === undefined,
    hf_count: hf.ids.length,
    gguf_count: ggufIds.length,
    ...(tokenDiff !== undefined ? { first_diff: { index: tokenDiff, hf: hf.ids[tokenDiff] ?? null, gguf: ggufIds[tokenDiff] ?? null } } : {}),
  };

  let chat: FidelityReport["chat"];
  try {
    const body = await post<{ choices?: { message?: { content?: string | null; tool_calls?: unknown[] }; finish_reason?: string | null }[] }>(
      server,
      "/v1/chat/completions",
      { messages: hf.messages, ...toolsField, max_tokens: 24, temperature: 0 },
      signal,
    );
    const choice = body.choices?.[0];
    const message = choice?.message;
    const ok = !!message && (typeof message.content === "string" || Array.isArray(message.tool_calls));
    chat = {
      ok,
      finish_reason: choice?.finish_reason ?? null,
      content: message?.content ?? null,
      tool_calls: Array.isArray(message?.tool_calls) ? message.tool_calls.length : 0,
      ...(ok ? {} : { error: "the response has no choices[0].message with content or tool_calls" }),
    };
  } catch (e) {
    signal?.throwIfAborted();
    chat = { ok: false, error: (e as Error).message };
  }
  return { status: tokens.match && chat.ok ? "pass" : "fail", template, tokens, chat };
}

/** One line saying what failed, for logs and the stage's error. */
export function describeFailure(report: FidelityReport): string {
  const parts: string[] = [];
  if (report.tokens && !report.tokens.match) {
    const d = report.tokens.first_diff!;
    parts.push(`token ids differ at position ${d.index} (Hugging Face ${d.hf}, GGUF ${d.gguf}; ${report.tokens.hf_count} vs ${report.tokens.gguf_count} tokens)`);
  }
  if (report.template && !report.template.match) {
    const d = report.template.first_diff!;
    parts.push(`the prompts differ from character ${d.char}: Hugging Face ${JSON.stringify(d.hf)} vs GGUF ${JSON.stringify(d.gguf)}`);
  }
  if (report.chat && !report.chat.ok) parts.push(`a chat completion with tools failed: ${report.chat.error}`);
  return parts.join("; ");
}
