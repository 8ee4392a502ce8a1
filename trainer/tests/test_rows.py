"""Assistant-only masking against the text the real Qwen3 chat template renders."""

from __future__ import annotations

import json

import pytest

from trainer.rows import RowError, encode_file, encode_row, template_markers

from .conftest import TOOLS, plain_row, tool_row, write_jsonl


def masked_runs(tokenizer, encoded) -> list[str]:
    """The decoded text of each run of consecutive masked tokens."""
    runs, current = [], []
    for token, bit in zip(encoded.input_ids, encoded.assistant_masks):
        if bit:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [tokenizer.decode(r) for r in runs]


def test_markers_of_qwen3(tokenizer):
    m = template_markers(tokenizer)
    assert m.header == "<|im_start|>assistant\n"
    assert m.turn_end == "<|im_end|>"


def test_loss_only_on_assistant_turns_including_tool_calls(tokenizer):
    row = tool_row("Run the unit tests", "npm test", "SECRET-TOOL-OUTPUT 3 passed", "3 passed", system="SYSTEM-PROMPT-TEXT")
    enc = encode_row(tokenizer, template_markers(tokenizer), row)
    # The ids are those of the model's own template, tokenised as at inference.
    as_hf = [dict(m) for m in row["messages"]]
    as_hf[2] = {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "run", "arguments": {"cmd": "npm test"}}}]}
    assert enc.input_ids == tokenizer.apply_chat_template(as_hf, tools=TOOLS, tokenize=True, return_dict=True)["input_ids"]
    assert masked_runs(tokenizer, enc) == [
        '<tool_call>\n{"name": "run", "arguments": {"cmd": "npm test"}}\n</tool_call><|im_end|>',
        "<think>\n\n</think>\n\n<final_answer>3 passed</final_answer><|im_end|>",
    ]
    unmasked = tokenizer.decode([t for t, b in zip(enc.input_ids, enc.assistant_masks) if not b])
    for text in ("SYSTEM-PROMPT-TEXT", "Run the unit tests", "SECRET-TOOL-OUTPUT", "<tool_response>", '"name": "run", "description"'):
        assert text in unmasked
    # Every masked token lies inside a span, and the header that the prompt supplies is not learned.
    assert all(enc.text[s:e].endswith("<|im_end|>") for s, e in enc.spans)
    assert not any(enc.text[s:e].startswith("<|im_start|>") for s, e in enc.spans)


def test_tool_arguments_are_rendered_as_json_objects(tokenizer):
    row = tool_row("q", "echo 'a b'", "a b", "done")
    enc = encode_row(tokenizer, template_markers(tokenizer), row)
    assert '"arguments": {"cmd": "echo \'a b\'"}' in enc.text
    assert '"arguments": "{' not in enc.text


def test_several_user_turns_and_earlier_reasoning(tokenizer):
    # Qwen3 rewrites earlier turns that carry <think> depending on what follows: the header
    # fallback still finds each assistant turn.
    row = {
        "messages": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "<think>\nponder\n</think>\n\nfirst answer"},
            {"role": "user", "content": "second question"},
            {"role": "assistant", "content": "second answer"},
        ]
    }
    enc = encode_row(tokenizer, template_markers(tokenizer), row)
    runs = masked_runs(tokenizer, enc)
    assert len(runs) == 2
    assert runs[0].endswith("first answer<|im_end|>") and "first question" not in runs[0]
    assert runs[1] == "<think>\n\n</think>\n\nsecond answer<|im_end|>"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"messages": []}, "no_messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "no_assistant"),
        (
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [{"id": "x", "type": "function", "function": {"name": "run", "arguments": "{not json"}}]}]},
            "bad_tool_arguments",
        ),
    ],
)
def test_unusable_rows_raise_with_a_reason(tokenizer, row, reason):
    with pytest.raises(RowError) as e:
        encode_row(tokenizer, template_markers(tokenizer), row)
    assert e.value.reason == reason


def test_encode_file_drops_and_counts_without_truncating(tokenizer, tmp_path):
    short = plain_row("hi", "hello")
    long = plain_row("hi " * 300, "hello")
    path = write_jsonl(tmp_path / "rows.jsonl", [short, long, "{broken", {"messages": [{"role": "user", "content": "x"}]}, short])
    markers = template_markers(tokenizer)
    limit = len(encode_row(tokenizer, markers, short).input_ids) + 5
    s = encode_file(tokenizer, markers, str(path), limit)
    assert s.read == 5
    assert len(s.rows) == 2
    assert all(len(r.input_ids) <= limit for r in s.rows)
    assert s.dropped == {"too_long": 1, "invalid_json": 1, "no_assistant": 1}
    assert "line 2" in s.examples["too_long"]
