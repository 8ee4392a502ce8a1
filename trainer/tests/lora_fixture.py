"""A LoRA adapter for a base model, made with PEFT directly, standing in for a trained one.

    python trainer/tests/lora_fixture.py --base DIR --out DIR [--seed 1]

lora_B starts at zero in PEFT (a fresh adapter changes nothing), so it is filled with noise:
merging then changes every targeted weight, which the merge tests check for.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_adapter(base: str | Path, out: str | Path, seed: int = 1, r: int = 4) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2 * r, target_modules=TARGETS, task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    peft_model.save_pretrained(out)
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    print(json.dumps({"adapter": str(make_adapter(a.base, a.out, a.seed))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
