"""What metrics.json says about the machine: versions, peak memory, the GPU's peak FLOP/s (MFU is in throughput.py)."""

from __future__ import annotations

import platform
import resource
from importlib import metadata
from typing import Any

STACK = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "safetensors", "tokenizers")

# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets, most specific name first.
PEAK_BF16_FLOPS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("H100", "PCIE"), 756e12),
    (("H100", "NVL"), 835e12),
    (("H100",), 989e12),
    (("H200",), 989e12),
    (("H800",), 989e12),
    (("GH200",), 989e12),
    (("B200",), 2250e12),
    (("A100",), 312e12),
    (("A800",), 312e12),
    (("L40S",), 362e12),
    (("L4",), 121e12),
    (("RTX 4090",), 165e12),
    (("RTX 3090",), 71e12),
    (("A6000",), 155e12),
)


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in STACK:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def peak_memory() -> dict[str, Any]:
    import torch

    # ru_maxrss is in KiB on Linux.
    out: dict[str, Any] = {"cpu_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    out["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
    return out


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return "cpu"


def peak_flops(name: str) -> float | None:
    upper = name.upper()
    for parts, flops in PEAK_BF16_FLOPS:
        if all(p in upper for p in parts):
            return flops
    return None
