"""python -m trainer.sft end to end on a tiny Qwen3 with the real tokenizer: over-fits a few rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, plain_row, tool_row, write_jsonl

ROWS = [
    tool_row("Run tests", "npm test", "3 passed", "3 passed"),
    plain_row("Say hi", "hi there"),
    plain_row("Say bye", "bye now"),
]


def run_sft(cfg: dict, tmp: Path) -> subprocess.CompletedProcess:
    path = tmp / "cfg.json"
    path.write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "trainer.sft", "--config", str(path)], capture_output=True, text=True, env=env, cwd=tmp, timeout=600)


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sft")
    train = write_jsonl(tmp / "train.jsonl", ROWS + [plain_row("word " * 400, "too long"), "{not json"])
    val = write_jsonl(tmp / "validation.jsonl", ROWS[1:2])
    cfg = {
        "model": str(tiny_model),
        "train_file": str(train),
        "validation_file": str(val),
        "output_dir": str(tmp / "adapter"),
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"},
        "epochs": 100,
        "max_steps": 6,
        "learning_rate": 2e-2,
        "batch_size": 3,
        "grad_accum": 1,
        "max_length": 256,
        "seed": 7,
        "gradient_checkpointing": False,
    }
    proc = run_sft(cfg, tmp)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return tmp, proc


def events(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_stdout_is_only_parseable_progress_lines(trained):
    _, proc = trained
    evs = events(proc)  # raises if any line is not JSON
    kinds = [e["event"] for e in evs]
    assert kinds[0] == "start" and kinds[-1] == "done"
    progress = [e for e in evs if e["event"] == "progress"]
    assert [p["step"] for p in progress] == [1, 2, 3, 4, 5, 6]
    for p in progress:
        assert set(p) == {"event", "step", "total", "loss", "learning_rate", "tokens_per_s", "eta_s"}
        assert p["total"] == 6 and isinstance(p["loss"], float) and p["tokens_per_s"] > 0
    assert progress[-1]["eta_s"] == 0
    # Library logs went to stderr.
    assert "train_runtime" in proc.stderr


def test_loss_goes_down_when_overfitting(trained):
    tmp, _ = trained
    m = json.loads((tmp / "adapter/metrics.json").read_text())
    losses = [p["loss"] for p in m["loss_curve"]]
    assert len(losses) == 6
    assert losses[-1] < losses[0] - 0.3, losses
    assert m["val_loss"] is not None and m["val_loss"] < losses[0]


def test_metrics_count_rows_tokens_and_versions(trained):
    tmp, _ = trained
    m = json.loads((tmp / "adapter/metrics.json").read_text())
    assert m["rows"]["train"] == {"read": 5, "used": 3, "dropped": 2, "dropped_by_reason": {"invalid_json": 1, "too_long": 1}}
    assert m["rows"]["validation"]["used"] == 1
    t = m["tokens"]["train_per_epoch"]
    assert 0 < t["assistant"] < t["total"]
    assert m["tokens"]["seen"] == 6 * t["total"]  # one batch of every row per step, no padding counted
    assert m["throughput"]["tokens_per_s"] > 0
    assert m["memory"]["cpu_rss_bytes"] > 0 and m["memory"]["cuda_max_allocated_bytes"] is None
    assert m["mfu"]["value"] is None and m["device"] == "cpu"
    for name in ("python", "torch", "transformers", "peft", "trl"):
        assert m["versions"][name]


def test_adapter_loads_with_peft(trained, tiny_model):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp, _ = trained
    out = tmp / "adapter"
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    tok = AutoTokenizer.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    ids = tok.apply_chat_template([{"role": "user", "content": "Say hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    with torch.no_grad():
        before = base(ids).logits
        model = PeftModel.from_pretrained(base, out)
        after = model(ids).logits
    assert not torch.allclose(before, after), "the adapter changes nothing"


def test_bad_config_is_one_clear_error(tmp_path):
    proc = run_sft({"model": "x", "train_file": "t.jsonl", "output_dir": "o", "learning_rat": 1}, tmp_path)
    assert proc.returncode == 2
    assert "unknown config keys: learning_rat" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert events(proc) == [{"event": "error", "message": proc.stderr.strip().removeprefix("error: ")}]


def test_no_trainable_rows_is_a_data_error(tiny_model, tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [plain_row("word " * 400, "x")])
    proc = run_sft({"model": str(tiny_model), "train_file": str(train), "output_dir": str(tmp_path / "o"), "max_length": 64}, tmp_path)
    assert proc.returncode == 2
    assert "no trainable rows" in proc.stderr and "1 too_long" in proc.stderr
    assert "Traceback" not in proc.stderr
