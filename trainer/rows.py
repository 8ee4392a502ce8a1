"""Dataset rows -> token ids and an assistant-token mask, with the model's own chat template.

A row is `{"messages": [...OpenAI chat messages...], "tools": [...OpenAI function tools...], "meta": {...}}`.
Loss goes on assistant turns only (tool-call turns included; system, user and tool results
excluded). Qwen3's template has no `{% generation %}` markers, so the assistant spans are found
here: the full conversation is rendered once, each assistant turn starts where the rendering of
the messages before it with the generation prompt ends, and runs to the template's end-of-turn
marker (`<|im_end|>` for Qwen), which is learned so that the model knows when to stop.
Tokens are then masked by their character offsets in that one rendering, so the token ids are
exactly those the model sees at inference.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

SENTINEL = "\u2063sabuild-sentinel\u2063"


class RowError(Exception):
    """A row that cannot be trained on; `reason` is a short slug counted in metrics.json."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class TemplateMarkers:
    """What the chat template writes around an assistant turn."""

    header: str | None  # e.g. "<|im_start|>assistant\n": the generation prompt
    turn_end: str  # e.g. "<|im_end|>": closes an assistant turn


@dataclass
class EncodedRow:
    input_ids: list[int]
    assistant_masks: list[int]
    text: str
    spans: list[tuple[int, int]]


def template_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages -> what HF chat templates expect: tool-call arguments as dicts, content as text."""
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise RowError("invalid_message", f"message {i} has no role")
        m = copy.deepcopy(m)
        if m.get("content") is None:
            m["content"] = ""
        if not isinstance(m["content"], str):
            # OpenAI content parts: keep the text parts.
            if isinstance(m["content"], list):
                m["content"] = "".join(p.get("text", "") for p in m["content"] if isinstance(p, dict))
            else:
                raise RowError("invalid_message", f"message {i} content is not text")
        for call in m.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise RowError("bad_tool_call", f"message {i} has a tool call without a function name")
            args = fn.get("arguments", {})
            if isinstance(args, str):
                try:
                    args = json.loads(args) if args.strip() else {}
                except json.JSONDecodeError as e:
                    raise RowError("bad_tool_arguments", f"message {i}: {e}") from None
            fn["arguments"] = args
        out.append(m)
    return out


def render(tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, generation_prompt: bool = False) -> str:
    try:
        return tokenizer.apply_chat_template(
            messages, tools=tools or None, tokenize=False, add_generation_prompt=generation_prompt
        )
    except Exception as e:  # jinja raises TemplateError and plain Python errors alike
        raise RowError("template_error", str(e)) from None


def template_markers(tokenizer: Any) -> TemplateMarkers:
    """Finds the assistant header and end-of-turn marker by rendering a sentinel conversation."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the tokenizer has no chat template: use an instruct model, or one whose tokenizer_config.json has chat_template")
    user = [{"role": "user", "content": "hi"}]
    plain = render(tokenizer, user, None)
    prompt = render(tokenizer, user, None, generation_prompt=True)
    header = prompt[len(plain):] if prompt.startswith(plain) and len(prompt) > len(plain) else None
    text = render(tokenizer, user + [{"role": "assistant", "content": SENTINEL}], None)
    at = text.find(SENTINEL)
    turn_end = text[at + len(SENTINEL):].rstrip() if at >= 0 else ""
    if not turn_end:
        turn_end = tokenizer.eos_token or ""
    if not turn_end:
        raise ValueError("cannot tell where the chat template ends an assistant turn (no end marker, no eos token)")
    return TemplateMarkers(header=header, turn_end=turn_end)


def assistant_spans(tokenizer: Any, markers: TemplateMarkers, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering and the [start, end) character span of each assistant turn in it."""
    full = render(tokenizer, messages, tools)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        start = -1
        if i > 0:
            head = render(tokenizer, messages[:i], tools, generation_prompt=True)
            if full.startswith(head) and len(head) >= cursor:
                start = len(head)
        if start < 0 and markers.header:
            # Templates that rewrite earlier turns depending on what follows (Qwen3 drops old
            # reasoning): fall back to the next assistant header after the previous turn.
            at = full.find(markers.header, cursor)
            if at >= 0:
                start = at + len(markers.header)
        if start < 0:
            raise RowError("unaligned_template", f"cannot find where assistant message {i} starts in the rendering")
        end = full.find(markers.turn_end, start)
        if end < 0:
            raise RowError("unaligned_template", f"assistant message {i} has no end-of-turn marker {markers.turn_end!r}")
        end += len(markers.turn_end)
        spans.append((start, end))
        cursor = end
    return full, spans


def encode_row(tokenizer: Any, markers: TemplateMarkers, row: Any) -> EncodedRow:
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list) or not row["messages"]:
        raise RowError("no_messages", "a row needs a non-empty messages list")
    tools = row.get("tools") or None
    if tools is not None and not isinstance(tools, list):
        raise RowError("invalid_tools", "tools must be a list of OpenAI function tools")
    messages = template_messages(row["messages"])
    if not any(m["role"] == "assistant" for m in messages):
        raise RowError("no_assistant", "the row has no assistant message to learn")
    text, spans = assistant_spans(tokenizer, markers, messages, tools)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    mask = [0] * len(ids)
    span_index = 0
    for t, (s, _e) in enumerate(enc["offset_mapping"]):
        while span_index < len(spans) and s >= spans[span_index][1]:
            span_index += 1
        if span_index < len(spans) and spans[span_index][0] <= s < spans[span_index][1]:
            mask[t] = 1
    if not any(mask):
        raise RowError("no_assistant_tokens", "no token of the rendering falls in an assistant turn")
    return EncodedRow(input_ids=ids, assistant_masks=mask, text=text, spans=spans)


@dataclass
class EncodedSet:
    rows: list[EncodedRow]
    read: int
    dropped: dict[str, int]
    examples: dict[str, str]  # one detail per drop reason, for the log


def encode_file(tokenizer: Any, markers: TemplateMarkers, path: str, max_length: int) -> EncodedSet:
    """Encodes every row of a JSONL file; rows that cannot be used are dropped and counted, never truncated."""
    rows: list[EncodedRow] = []
    dropped: dict[str, int] = {}
    examples: dict[str, str] = {}
    read = 0

    def drop(reason: str, detail: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1
        examples.setdefault(reason, detail)

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            read += 1
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                drop("invalid_json", f"line {n}: {e}")
                continue
            try:
                encoded = encode_row(tokenizer, markers, row)
            except RowError as e:
                drop(e.reason, f"line {n}: {e.detail}")
                continue
            if len(encoded.input_ids) > max_length:
                drop("too_long", f"line {n}: {len(encoded.input_ids)} tokens > max_length {max_length}")
                continue
            rows.append(encoded)
    return EncodedSet(rows=rows, read=read, dropped=dropped, examples=examples)
