"""JSON progress lines on stdout; everything else the libraries print goes to stderr."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any, TextIO

from transformers import TrainerCallback


class Events:
    """One JSON object per line. Built on a duplicate of fd 1, which then points at stderr, so
    that a library printing to stdout (from Python or C) cannot break the stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    @classmethod
    def take_stdout(cls) -> "Events":
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
        return cls(os.fdopen(fd, "w", buffering=1, encoding="utf-8"))

    def emit(self, event: str, **fields: Any) -> None:
        self.stream.write(json.dumps({"event": event, **fields}, allow_nan=False, default=str) + "\n")
        self.stream.flush()


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


class ProgressCallback(TrainerCallback):
    """Turns the trainer's logs into progress events and keeps the loss curve for metrics.json."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.curve: list[dict[str, Any]] = []
        self.started = 0.0
        self.total = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        self.total = state.max_steps

    def tokens_per_s(self, state) -> float | None:
        elapsed = time.monotonic() - self.started
        return state.num_input_tokens_seen / elapsed if elapsed > 0 and state.num_input_tokens_seen else None

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs:
            return
        step = state.global_step
        elapsed = time.monotonic() - self.started
        eta = elapsed / step * (self.total - step) if step else None
        point = {
            "step": step,
            "epoch": _finite(state.epoch),
            "loss": _finite(logs.get("loss")),
            "learning_rate": _finite(logs.get("learning_rate")),
            "grad_norm": _finite(logs.get("grad_norm")),
        }
        self.curve.append(point)
        self.events.emit(
            "progress",
            step=step,
            total=self.total,
            loss=point["loss"],
            learning_rate=point["learning_rate"],
            tokens_per_s=_finite(self.tokens_per_s(state)),
            eta_s=_finite(eta),
        )
