"""LoRA SFT of a base model on sabuild dataset rows, with TRL's SFTTrainer.

    python -m trainer.sft --config cfg.json

cfg.json: model (a Hugging Face id or a local directory), train_file, validation_file?,
output_dir, lora {r, alpha, dropout, target_modules}, epochs, learning_rate, batch_size,
grad_accum, max_length, packing, tokens_per_step?, seed, gradient_checkpointing?, max_steps?,
metrics_file?.

stdout carries only JSON lines: {"event": "start" | "progress" | "done" | "error", ...};
warnings and library logs go to stderr. output_dir receives the PEFT adapter
(adapter_model.safetensors, adapter_config.json), the tokenizer and metrics.json.
Exit codes: 0 done, 2 bad config or data, 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any

from .config import ConfigError, TrainConfig, load_config


class DataError(Exception):
    """The rows cannot be trained on (none left, missing file): exit code 2."""


def quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    import transformers

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    transformers.logging.set_verbosity_warning()
    transformers.utils.logging.disable_progress_bar()


def load_tokenizer(model: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load the tokenizer of {model}: {e}") from None


def encode_sets(cfg: TrainConfig, tokenizer) -> tuple[Any, Any]:
    from .rows import encode_file, template_markers

    try:
        markers = template_markers(tokenizer)
    except ValueError as e:
        raise DataError(f"{cfg.model}: {e}") from None
    for path in (cfg.train_file, cfg.validation_file):
        if path and not os.path.isfile(path):
            raise DataError(f"dataset file not found: {path}")
    train = encode_file(tokenizer, markers, cfg.train_file, cfg.max_length)
    val = encode_file(tokenizer, markers, cfg.validation_file, cfg.max_length) if cfg.validation_file else None
    for name, s in (("train", train), ("validation", val)):
        if s is None:
            continue
        for reason, n in sorted(s.dropped.items()):
            print(f"{name}: dropped {n} row(s): {reason} (e.g. {s.examples[reason]})", file=sys.stderr)
    if not train.rows:
        why = ", ".join(f"{n} {r}" for r, n in sorted(train.dropped.items())) or "the file is empty"
        raise DataError(f"no trainable rows in {cfg.train_file} ({train.read} read; dropped: {why})")
    return train, val


def pick_device(cfg: TrainConfig) -> dict[str, Any]:
    """CUDA with bf16 when there is one; how rows are packed, fused kernels and checkpointing follow from it."""
    import torch

    from .throughput import liger_status, pick_packing

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    packing = pick_packing(cfg.packing, cuda)
    if cfg.packing and not packing.packed:
        print(f"warning: {packing.note}", file=sys.stderr)
    elif packing.note:
        print(f"packing: {packing.note}", file=sys.stderr)
    checkpointing = cuda if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    return {
        "cuda": cuda,
        "bf16": bf16,
        "dtype": torch.bfloat16 if bf16 else torch.float32,
        "packing": packing,
        "liger": liger_status(cuda),
        "gradient_checkpointing": checkpointing,
    }


def load_model(cfg: TrainConfig, device: dict[str, Any]):
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": device["dtype"]}
    if device["packing"].attn_implementation:
        kwargs["attn_implementation"] = device["packing"].attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(cfg.model, **kwargs)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load the base model {cfg.model}: {e}") from None
    model.config.use_cache = False
    return model


def world_size() -> int:
    """Data-parallel processes: torchrun sets WORLD_SIZE and RANK for each; 1 when run plainly."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Rank 0 reports progress and writes the adapter and metrics; the other ranks only train."""
    return int(os.environ.get("RANK", "0")) == 0


def plan_for(cfg: TrainConfig, train_set, device):
    from .throughput import plan_batch, split_for_world

    plan = plan_batch(
        batch_size=cfg.batch_size,
        grad_accum=cfg.grad_accum,
        tokens_per_step=cfg.tokens_per_step,
        max_length=cfg.max_length,
        row_lengths=[len(r.input_ids) for r in train_set.rows],
        packed=device["packing"].packed,
    )
    try:
        return split_for_world(plan, world_size())
    except ValueError as e:
        raise ConfigError(str(e)) from None


def to_dataset(encoded):
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": [r.input_ids for r in encoded.rows], "assistant_masks": [r.assistant_masks for r in encoded.rows]})


def build_trainer(cfg: TrainConfig, model, tokenizer, train_set, val_set, device, plan, scratch: str, callback):
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from .throughput import quiet_flash_only_warnings

    quiet_flash_only_warnings(device["packing"])

    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    args = SFTConfig(
        output_dir=scratch,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=0.03,
        weight_decay=0.0,
        per_device_train_batch_size=plan.per_device,
        per_device_eval_batch_size=plan.per_device,
        gradient_accumulation_steps=plan.grad_accum,
        gradient_checkpointing=device["gradient_checkpointing"],
        gradient_checkpointing_kwargs={"use_reentrant": False} if device["gradient_checkpointing"] else None,
        max_length=cfg.max_length,
        # Best-fit decreasing into max_length bins, flattened without padding; position ids restart
        # per row, which flash-attn's varlen kernel and transformers' SDPA mask both keep apart.
        # Rows are never longer than max_length (encode_file drops them), so "bfd" truncates nothing.
        packing=device["packing"].packed,
        packing_strategy="bfd",
        # Unpacked, rows of similar length share a batch, so less of it is padding.
        train_sampling_strategy="random" if device["packing"].packed else "group_by_length",
        use_liger_kernel=device["liger"]["active"],
        bf16=device["bf16"],
        use_cpu=not device["cuda"],
        seed=cfg.seed,
        data_seed=cfg.seed,
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
    )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=to_dataset(train_set),
        eval_dataset=to_dataset(val_set) if val_set and val_set.rows else None,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[callback],
    )


def row_counts(s) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"read": s.read, "used": len(s.rows), "dropped": sum(s.dropped.values()), "dropped_by_reason": dict(sorted(s.dropped.items()))}


def token_counts(s) -> dict[str, int] | None:
    if s is None:
        return None
    return {"total": sum(len(r.input_ids) for r in s.rows), "assistant": sum(sum(r.assistant_masks) for r in s.rows)}


def train(cfg: TrainConfig, events) -> dict[str, Any]:
    from transformers import set_seed

    from . import report, throughput
    from .progress import ProgressCallback

    began = time.monotonic()
    quiet_libraries()
    set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.model)
    train_set, val_set = encode_sets(cfg, tokenizer)
    device = pick_device(cfg)
    plan = plan_for(cfg, train_set, device)
    model = load_model(cfg, device)
    params = sum(p.numel() for p in model.parameters())
    flops = throughput.flops_per_epoch(throughput.matmul_params(model), *throughput.attention_width(model.config), [len(r.input_ids) for r in train_set.rows])
    callback = ProgressCallback(events)
    scratch = tempfile.mkdtemp(prefix="sabuild-sft-")
    try:
        trainer = build_trainer(cfg, model, tokenizer, train_set, val_set, device, plan, scratch, callback)
        trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        dev_name = report.device_name()
        events.emit(
            "start",
            model=cfg.model,
            device=dev_name,
            rows={"train": len(train_set.rows), "validation": len(val_set.rows) if val_set else 0},
            dropped={"train": sum(train_set.dropped.values()), "validation": sum(val_set.dropped.values()) if val_set else 0},
            params=params,
            trainable_params=trainable,
            packing=device["packing"].packed,
        )
        result = trainer.train()
        state = trainer.state
        train_runtime = result.metrics.get("train_runtime") or (time.monotonic() - began)
        # Every rank evaluates (its share of the rows; the loss is gathered), one writes.
        val_loss = trainer.evaluate()["eval_loss"] if val_set and val_set.rows else None
        if is_main_process():
            os.makedirs(cfg.output_dir, exist_ok=True)
            trainer.model.save_pretrained(cfg.output_dir)
            tokenizer.save_pretrained(cfg.output_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not is_main_process():
        return {}

    tokens_seen = int(state.num_input_tokens_seen)
    tokens_per_s = tokens_seen / train_runtime if train_runtime else None
    per_epoch = token_counts(train_set)
    assert per_epoch is not None
    curve = callback.curve
    metrics: dict[str, Any] = {
        "model": cfg.model,
        "config": {k: v for k, v in cfg.to_json().items() if k not in ("model", "train_file", "validation_file", "output_dir", "metrics_file")},
        "steps": state.global_step,
        "epochs": state.epoch,
        "loss_curve": curve,
        "train_loss": result.training_loss,
        "first_loss": curve[0]["loss"] if curve else None,
        "final_loss": curve[-1]["loss"] if curve else None,
        "val_loss": val_loss,
        "rows": {"train": row_counts(train_set), "validation": row_counts(val_set)},
        "tokens": {
            "train_per_epoch": per_epoch,
            "validation": token_counts(val_set),
            "seen": tokens_seen,
            # Each epoch trains on every assistant token once; a partial last epoch counts its fraction.
            "assistant_trained": round(per_epoch["assistant"] * (state.epoch or 0)),
        },
        # tokens_per_s counts real tokens only: padding-free batches carry none, padded ones are
        # counted by their attention mask (Trainer's include_num_input_tokens_seen="non_padding").
        "throughput": {"train_runtime_s": train_runtime, "tokens_per_s": tokens_per_s, "wall_s": time.monotonic() - began},
        "memory": report.peak_memory(),
        "device": dev_name,
        "dtype": str(device["dtype"]).removeprefix("torch."),
        "packing": {"requested": cfg.packing, "used": device["packing"].packed, "mode": device["packing"].mode, "note": device["packing"].note},
        "batch": throughput.as_json(plan),
        "features": {
            "packing": device["packing"].mode,
            "attn_implementation": model.config._attn_implementation,
            "liger_kernel": device["liger"],
            "gradient_checkpointing": device["gradient_checkpointing"],
            "bf16": device["bf16"],
            "tokens_per_step": cfg.tokens_per_step is not None,
        },
        "params": {"total": params, "trainable": trainable},
        "mfu": throughput.mfu(flops_per_epoch=flops, epochs=state.epoch or 0, train_runtime_s=train_runtime, peak=report.peak_flops(dev_name) if device["bf16"] else None),
        "versions": report.versions(),
    }
    metrics_file = cfg.metrics_file or os.path.join(cfg.output_dir, "metrics.json")
    tmp = metrics_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2, allow_nan=False, default=str)
        f.write("\n")
    os.replace(tmp, metrics_file)
    events.emit("done", output_dir=cfg.output_dir, steps=state.global_step, train_loss=result.training_loss, val_loss=val_loss, duration_s=time.monotonic() - began)
    return metrics


def main(argv: list[str] | None = None) -> int:
    from .progress import Events

    parser = argparse.ArgumentParser(prog="python -m trainer.sft", description="LoRA SFT of a base model on sabuild dataset rows.")
    parser.add_argument("--config", required=True, help="path of cfg.json")
    a = parser.parse_args(argv)
    events = Events.take_stdout()
    if not is_main_process():
        # Under torchrun only rank 0 speaks: the stage reads one stream of events, whatever the world size.
        events.stream.close()
        events = Events(open(os.devnull, "w", encoding="utf-8"))
    try:
        cfg = load_config(a.config)
        train(cfg, events)
        return 0
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        events.emit("error", message=str(e))
        return 2
    except KeyboardInterrupt:
        events.emit("error", message="interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
