"""The training config (cfg.json): keys, defaults sensible for a ~4B instruct model, validation."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


class ConfigError(Exception):
    """Bad cfg.json: reported on stderr as one line, exit code 2."""


@dataclass
class LoraSettings:
    r: int = 16
    alpha: float = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainConfig:
    model: str
    train_file: str
    output_dir: str
    validation_file: str | None = None
    lora: LoraSettings = field(default_factory=LoraSettings)
    epochs: float = 2
    learning_rate: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 4
    max_length: int = 8192
    # Pack rows into max_length bins, kept apart by the attention (trainer/throughput.py picks how).
    packing: bool = True
    # Real tokens per optimizer step; when set, the micro-batch size comes from it, not batch_size.
    tokens_per_step: int | None = None
    seed: int = 42
    # None: on with CUDA (memory for longer rows), off on the CPU (where it only costs time).
    gradient_checkpointing: bool | None = None
    max_steps: int | None = None
    # Where metrics.json goes; output_dir/metrics.json when not set.
    metrics_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


def _number(name: str, value: Any, *, integer: bool = False, positive: bool = True, at_most: float | None = None) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    _check(ok and not isinstance(value, bool), f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if positive:
        _check(value > 0, f"{name} must be positive, got {value!r}")
    else:
        _check(value >= 0, f"{name} must not be negative, got {value!r}")
    if at_most is not None:
        _check(value <= at_most, f"{name} must be at most {at_most}, got {value!r}")


def parse_config(data: Any) -> TrainConfig:
    _check(isinstance(data, dict), "the config must be a JSON object")
    known = set(TrainConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    _check(not unknown, f"unknown config keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    for key in ("model", "train_file", "output_dir"):
        _check(isinstance(data.get(key), str) and data[key] != "", f"{key} is required (a non-empty string)")
    lora_data = data.get("lora") or {}
    _check(isinstance(lora_data, dict), "lora must be an object with r, alpha, dropout, target_modules")
    lora_unknown = sorted(set(lora_data) - set(LoraSettings.__dataclass_fields__))
    _check(not lora_unknown, f"unknown lora keys: {', '.join(lora_unknown)}")
    lora = LoraSettings(**lora_data)
    _number("lora.r", lora.r, integer=True)
    _number("lora.alpha", lora.alpha)
    _number("lora.dropout", lora.dropout, positive=False, at_most=1)
    tm = lora.target_modules
    _check(isinstance(tm, str) or (isinstance(tm, list) and tm and all(isinstance(x, str) for x in tm)), "lora.target_modules must be a module name or a list of them")
    cfg = TrainConfig(**{**data, "lora": lora})
    _number("epochs", cfg.epochs)
    _number("learning_rate", cfg.learning_rate)
    _number("batch_size", cfg.batch_size, integer=True)
    _number("grad_accum", cfg.grad_accum, integer=True)
    _number("max_length", cfg.max_length, integer=True)
    _number("seed", cfg.seed, integer=True, positive=False)
    if cfg.max_steps is not None:
        _number("max_steps", cfg.max_steps, integer=True)
    if cfg.tokens_per_step is not None:
        _number("tokens_per_step", cfg.tokens_per_step, integer=True)
    _check(isinstance(cfg.packing, bool), "packing must be true or false")
    _check(cfg.gradient_checkpointing is None or isinstance(cfg.gradient_checkpointing, bool), "gradient_checkpointing must be true, false or null (on with CUDA)")
    _check(cfg.validation_file is None or isinstance(cfg.validation_file, str), "validation_file must be a path")
    return cfg


def load_config(path: str) -> TrainConfig:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from None
    return parse_config(data)
