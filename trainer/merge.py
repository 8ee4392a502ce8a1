"""Merges a PEFT LoRA adapter into its base model and saves a plain Hugging Face checkpoint.

    python -m trainer.merge --base MODEL --adapter DIR --out DIR

MODEL is a Hugging Face id or a local directory. The output holds safetensors weights, the
tokenizer and its chat template (taken from the adapter directory when training saved one
there, since that is the template the model was trained with; from the base otherwise), ready
for llama.cpp's convert_hf_to_gguf.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def load_tokenizer(base: str, adapter: Path):
    from transformers import AutoTokenizer

    source = adapter if (adapter / "tokenizer_config.json").exists() else base
    return AutoTokenizer.from_pretrained(source), str(source)


def merge(base: str, adapter: str | Path, out: str | Path) -> dict:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter, out = Path(adapter), Path(out)
    if not (adapter / "adapter_config.json").exists():
        raise SystemExit(f"error: {adapter} has no adapter_config.json (not a PEFT adapter directory)")
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)

    model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
    with torch.no_grad():
        merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    merged.save_pretrained(tmp, safe_serialization=True)
    tokenizer, tokenizer_source = load_tokenizer(base, adapter)
    tokenizer.save_pretrained(tmp)
    if tokenizer.chat_template is None:
        raise SystemExit(f"error: the tokenizer from {tokenizer_source} has no chat template; a chat model needs one")

    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return {"out": str(out), "dtype": str(merged.dtype).removeprefix("torch."), "tokenizer_from": tokenizer_source}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.merge", description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="base model: a Hugging Face id or a local directory")
    p.add_argument("--adapter", required=True, help="PEFT adapter directory (adapter_config.json + weights)")
    p.add_argument("--out", required=True, help="output directory (replaced)")
    a = p.parse_args(argv)
    print(json.dumps(merge(a.base, a.adapter, a.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
