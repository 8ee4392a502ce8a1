"""Training throughput: sabuild's trainer configuration against TRL's defaults, same rows, one run.

    PYTHONPATH=. python bench/train.py                     # CPU: a small random-init Qwen3, 3 rounds, ~5 min idle
    PYTHONPATH=. python bench/train.py --gpu               # Qwen3-4B's exact architecture, random init, seq 4096

Run it with the trainer's venv (trainer/requirements.txt; on a GPU a CUDA torch, and flash-attn
and liger-kernel where they should count). Nothing is downloaded: the model is built from its config.

Each arm does LoRA SFT (r 16, all linear layers, as the train stage) on the same synthetic rows
for one epoch (or --steps), from the same seed, and reports real (non-pad) tokens/s, optimizer
steps, peak memory and MFU (trainer/throughput.py's formula; null on the CPU):

- trl_defaults: SFTTrainer as TRL configures it: padded batches of --batch-size rows in random
  order, no packing, no fused kernels; on a GPU bf16 and gradient checkpointing, TRL's defaults.
- ours: trainer.sft's configuration: packing picked by trainer/throughput.py (flash-attn varlen,
  or SDPA with a block-diagonal mask), Liger kernels when installed, the batch from the same
  batch_size (packed: the bins that hold as many tokens), gradient checkpointing and bf16 on a GPU.
- ours_unpacked: ours with packing: false (padded batches of rows of similar length).

On the CPU both arms train in fp32 without checkpointing, so the figures show padding and
packing alone. Rows are random token ids (the content does not change the FLOPs) whose lengths
are drawn log-normal like tool-call transcripts (a few hundred to several thousand tokens,
median --median-len), clipped to the sequence length; assistant tokens are the second half of
each row. Random weights have the FLOPs of the real ones, which is all a throughput figure needs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from typing import Any

# Qwen3-4B (Qwen/Qwen3-4B-Instruct-2507 config.json): the FLOPs of the real model.
QWEN3_4B = dict(
    vocab_size=151936,
    hidden_size=2560,
    intermediate_size=9728,
    num_hidden_layers=36,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    tie_word_embeddings=True,
    rope_parameters={"rope_type": "default", "rope_theta": 5000000.0},
    rms_norm_eps=1e-6,
    max_position_embeddings=262144,
)
# Small enough for two CPU cores (~6M matmul params; a 32k vocabulary, so the output layer
# does not swamp the layers whose work packing changes).
TINY = dict(
    vocab_size=32768,
    hidden_size=256,
    intermediate_size=768,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=64,
    tie_word_embeddings=True,
    max_position_embeddings=8192,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/train.py", description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true", help="same as --arch qwen3-4b --seq-len 4096 --rows 256 --steps 8")
    p.add_argument("--arch", choices=["tiny", "qwen3-4b"], default="tiny")
    p.add_argument("--seq-len", type=int, default=1024, help="max_length: the longest row, and the packed bin")
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--median-len", type=int, default=None, help="median row length (default: seq-len / 4)")
    p.add_argument("--batch-size", type=int, default=4, help="rows per micro-batch (TRL) and the token budget it implies (ours)")
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--steps", type=int, default=None, help="stop each arm after this many optimizer steps (default: one epoch)")
    p.add_argument("--arms", default="trl_defaults,ours,ours_unpacked")
    p.add_argument("--rounds", type=int, default=3, help="run every arm this many times, the order rotated each round; medians reported")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    a = p.parse_args(argv)
    if a.gpu:
        a.arch, a.seq_len = "qwen3-4b", 4096
        a.rows = 256 if a.rows == 64 else a.rows
        a.steps = a.steps or 8
        a.rounds = 2 if a.rounds == 3 else a.rounds  # a GPU is not shared; the second round is past warm-up
    a.median_len = a.median_len or a.seq_len // 4
    return a


def row_lengths(n: int, median: int, seq_len: int, seed: int) -> list[int]:
    """Log-normal lengths (sigma 0.8: ~5% of rows 4x the median or more), clipped to [64, seq_len]."""
    rng = random.Random(seed)
    return [max(64, min(seq_len, round(median * math.exp(rng.gauss(0, 0.8))))) for _ in range(n)]


def synthetic_rows(lengths: list[int], vocab: int, seed: int):
    from trainer.rows import EncodedRow, EncodedSet

    rng = random.Random(seed + 1)
    rows = []
    for n in lengths:
        ids = [rng.randrange(1, vocab) for _ in range(n)]  # 0 is the pad token
        rows.append(EncodedRow(input_ids=ids, assistant_masks=[0] * (n // 2) + [1] * (n - n // 2), text="", spans=[]))
    return EncodedSet(rows=rows, read=len(rows), dropped={}, examples={})


def pad_tokenizer():
    """A two-token tokenizer: SFTTrainer needs one for its pad token; the rows are ids already."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(WordLevel({"<pad>": 0, "<unk>": 1}, unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>")


def build_model(arch: dict[str, Any], attn: str, dtype, cuda: bool, seed: int):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(**arch, pad_token_id=0, bos_token_id=None, eos_token_id=1)
    with torch.device("cuda" if cuda else "cpu"):
        model = Qwen3ForCausalLM._from_config(config, attn_implementation=attn, dtype=dtype)
    model.config.use_cache = False
    return model


def run_arm(name: str, a: argparse.Namespace, arch: dict[str, Any], encoded) -> dict[str, Any]:
    import torch
    from peft import LoraConfig
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    from trainer import sft, throughput
    from trainer.config import parse_config
    from trainer.progress import Events, ProgressCallback

    cuda = torch.cuda.is_available()
    cfg = parse_config(
        {
            "model": a.arch,
            "train_file": "synthetic",
            "output_dir": "unused",
            "epochs": 1,
            "learning_rate": 2e-4,
            "batch_size": a.batch_size,
            "grad_accum": a.grad_accum,
            "max_length": a.seq_len,
            "max_steps": a.steps,
            "packing": name != "ours_unpacked",
            "seed": a.seed,
            # On the CPU neither arm checkpoints (TRL's default is on), so that packing is all that differs.
            "gradient_checkpointing": cuda,
        }
    )
    lengths = [len(r.input_ids) for r in encoded.rows]
    set_seed(a.seed)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    scratch = tempfile.mkdtemp(prefix="sabuild-bench-train-")
    callback = ProgressCallback(Events(io.StringIO()))
    tokenizer = pad_tokenizer()
    if name == "trl_defaults":
        model = build_model(arch, "sdpa", torch.bfloat16 if cuda else torch.float32, cuda, a.seed)
        features = {"packing": "none (padded batches, random order)", "attn_implementation": "sdpa", "liger_kernel": {"active": False, "reason": "TRL's default"}, "gradient_checkpointing": cuda, "bf16": cuda}
        args = SFTConfig(
            output_dir=scratch,
            num_train_epochs=1,
            max_steps=a.steps or -1,
            per_device_train_batch_size=a.batch_size,
            gradient_accumulation_steps=a.grad_accum,
            max_length=a.seq_len,
            bf16=cuda,
            gradient_checkpointing=cuda,
            use_cpu=not cuda,
            seed=a.seed,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            include_num_input_tokens_seen="non_padding",
        )
        lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
        trainer = SFTTrainer(model=model, args=args, train_dataset=sft.to_dataset(encoded), processing_class=tokenizer, peft_config=lora, callbacks=[callback])
        per_device = a.batch_size
    else:
        device = sft.pick_device(cfg)
        plan = sft.plan_for(cfg, encoded, device)
        model = build_model(arch, device["packing"].attn_implementation or "sdpa", device["dtype"], cuda, a.seed)
        features = {
            "packing": device["packing"].mode,
            "attn_implementation": model.config._attn_implementation,
            "liger_kernel": device["liger"],
            "gradient_checkpointing": device["gradient_checkpointing"],
            "bf16": device["bf16"],
        }
        trainer = sft.build_trainer(cfg, model, tokenizer, encoded, None, device, plan, scratch, callback)
        per_device = f"{plan.per_device} {plan.unit}"
    flops = throughput.flops_per_epoch(throughput.matmul_params(model), *throughput.attention_width(model.config), lengths)
    began = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its log dicts
        result = trainer.train()
    runtime = result.metrics.get("train_runtime") or (time.monotonic() - began)
    state = trainer.state
    tokens = int(state.num_input_tokens_seen)
    from trainer import report

    dev = report.device_name()
    out = {
        "arm": name,
        "steps": state.global_step,
        "epoch": state.epoch,
        "micro_batch": per_device,
        "real_tokens": tokens,
        "runtime_s": round(runtime, 2),
        "real_tokens_per_s": round(tokens / runtime, 1),
        "final_loss": callback.curve[-1]["loss"] if callback.curve else None,
        "peak_memory": {"cuda_max_allocated_bytes": torch.cuda.max_memory_allocated() if cuda else None},
        "mfu": throughput.mfu(flops_per_epoch=flops, epochs=state.epoch or 0, train_runtime_s=runtime, peak=report.peak_flops(dev) if cuda else None)["value"],
        "features": features,
    }
    del trainer, model
    gc.collect()
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from trainer import report
    from trainer.sft import quiet_libraries
    from trainer.throughput import MFU_FORMULA

    quiet_libraries()
    arch = QWEN3_4B if a.arch == "qwen3-4b" else TINY
    lengths = row_lengths(a.rows, a.median_len, a.seq_len, a.seed)
    encoded = synthetic_rows(lengths, arch["vocab_size"], a.seed)
    names = a.arms.split(",")
    # Rounds with the order rotated, so that warm-up and load from elsewhere fall on every arm.
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in range(a.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            runs[name].append(run_arm(name, a, arch, encoded))
    arms = []
    for name in names:
        ordered = sorted(runs[name], key=lambda x: x["real_tokens_per_s"])
        median = ordered[len(ordered) // 2]
        arms.append({**median, "rounds_real_tokens_per_s": [x["real_tokens_per_s"] for x in runs[name]]})
    base = next((x for x in arms if x["arm"] == "trl_defaults"), None)
    for x in arms:
        x["speedup_vs_trl_defaults"] = round(x["real_tokens_per_s"] / base["real_tokens_per_s"], 2) if base else None
    result = {
        "device": report.device_name(),
        "arch": a.arch,
        "seq_len": a.seq_len,
        "rows": {"count": a.rows, "tokens": sum(lengths), "min": min(lengths), "median": sorted(lengths)[len(lengths) // 2], "max": max(lengths)},
        "batch_size": a.batch_size,
        "grad_accum": a.grad_accum,
        "rounds": a.rounds,
        "threads": torch.get_num_threads(),
        "load_avg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "mfu_formula": MFU_FORMULA,
        "versions": {**report.versions(), "platform": platform.platform()},
        "arms": arms,
    }
    if a.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(f"{result['device']}, {a.arch}, seq {a.seq_len}, median of {a.rounds} rounds, {a.rows} rows ({result['rows']['tokens']} tokens, median {result['rows']['median']}), batch {a.batch_size} x {a.grad_accum}, load {result['load_avg']}")
    print(f"{'arm':<15} {'steps':>5} {'micro-batch':>12} {'real tok/s':>11} {'vs TRL':>7} {'MFU':>6} {'peak GPU GiB':>12}  packing / attention")
    for x in arms:
        mem = x["peak_memory"]["cuda_max_allocated_bytes"]
        mfu = f"{x['mfu']:.1%}" if x["mfu"] is not None else "-"
        f = x["features"]
        print(f"{x['arm']:<15} {x['steps']:>5} {str(x['micro_batch']):>12} {x['real_tokens_per_s']:>11.1f} {x['speedup_vs_trl_defaults'] or '-':>7} {mfu:>6} {mem / 2**30 if mem else '-':>12}  {f['packing']} / {f['attn_implementation']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
