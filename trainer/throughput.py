"""How a run spends its compute: packing mode, batch size from a token budget, fused kernels, MFU.

Each choice is made once, from what is installed and what the device is, and recorded in
metrics.json ("features") so that a throughput figure can be read next to what produced it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass, replace
from math import gcd
from typing import Any

# Packing modes, best first.
FLASH_VARLEN = "flash_attention_varlen"  # flash-attn's varlen kernel: cu_seqlens from position_ids
SDPA_BLOCK_DIAGONAL = "sdpa_block_diagonal"  # SDPA with a causal mask that is block-diagonal over rows
LENGTH_GROUPED = "length_grouped"  # no packing: padded batches of rows of similar length


@dataclass(frozen=True)
class Packing:
    mode: str
    attn_implementation: str | None  # None: the model's default
    note: str | None

    @property
    def packed(self) -> bool:
        return self.mode != LENGTH_GROUPED


def transformers_splits_packed_rows() -> bool:
    """Whether transformers turns restarting position ids into a block-diagonal mask for SDPA/eager.

    masking_utils.find_packed_sequence_indices (transformers >= 4.56) does this when no 2-D
    attention mask is passed, which is what TRL's padding-free collator sends."""
    try:
        from transformers import masking_utils
    except ImportError:
        return False
    return hasattr(masking_utils, "find_packed_sequence_indices")


def pick_packing(requested: bool, cuda: bool) -> Packing:
    if not requested:
        return Packing(LENGTH_GROUPED, None, "packing: false in the config")
    if cuda and importlib.util.find_spec("flash_attn") is not None:
        return Packing(FLASH_VARLEN, "flash_attention_2", None)
    if transformers_splits_packed_rows():
        why = "flash-attn is not installed" if cuda else "no CUDA device"
        return Packing(SDPA_BLOCK_DIAGONAL, "sdpa", f"{why}: SDPA with a block-diagonal mask built from the position ids")
    return Packing(LENGTH_GROUPED, None, "neither flash-attn nor a transformers that masks packed rows: rows are not packed")


@dataclass(frozen=True)
class BatchPlan:
    """Rows (or packed bins of max_length tokens) per device per micro-batch, and where that came from."""

    per_device: int
    grad_accum: int
    unit: str  # "rows" or "bins"
    source: str  # "batch_size" or "tokens_per_step"
    mean_row_tokens: float
    tokens_per_step_target: int | None
    tokens_per_step_expected: float  # real tokens per optimizer step, on average
    world_size: int = 1  # data-parallel processes; per_device and grad_accum are each one's share


def split_for_world(plan: BatchPlan, world_size: int) -> BatchPlan:
    """The same optimizer step shared by world_size data-parallel processes.

    The global batch (per_device x grad_accum x world_size) stays what one process would take,
    so a run on several GPUs follows the same recipe (steps, rows per step, learning-rate
    schedule) as on one: fewer accumulation steps as far as they divide, a smaller micro-batch for
    the rest. A step that cannot be shared so is refused: silently changing the global batch
    would change the model."""
    if world_size <= 1:
        return plan
    shared = gcd(plan.grad_accum, world_size)
    rest = world_size // shared
    if plan.per_device % rest == 0:
        return replace(plan, grad_accum=plan.grad_accum // shared, per_device=plan.per_device // rest, world_size=world_size)
    raise ValueError(
        f"a step of {plan.per_device} {plan.unit} x {plan.grad_accum} accumulation steps cannot be shared by {world_size} processes "
        f"without changing the global batch; make train.grad_accum or train.batch_size a multiple of {world_size}"
    )


def plan_batch(*, batch_size: int, grad_accum: int, tokens_per_step: int | None, max_length: int, row_lengths: list[int], packed: bool) -> BatchPlan:
    """The micro-batch size. Unpacked, it counts rows; packed, bins that each hold up to max_length tokens.

    Without tokens_per_step, batch_size rows per micro-batch, as before; packed, as many bins as
    hold that many rows' tokens on average. With it, the micro-batch carries about
    tokens_per_step / grad_accum real tokens."""
    mean = sum(row_lengths) / len(row_lengths)
    micro_tokens = tokens_per_step / grad_accum if tokens_per_step else batch_size * mean
    if packed:
        # A bin is filled to ~max_length by best-fit decreasing; the last ones are emptier.
        per_device = max(1, round(micro_tokens / max_length))
        expected = min(per_device * max_length, sum(row_lengths)) * grad_accum
        unit = "bins"
    else:
        per_device = max(1, round(micro_tokens / mean)) if tokens_per_step else batch_size
        expected = per_device * mean * grad_accum
        unit = "rows"
    return BatchPlan(
        per_device=per_device,
        grad_accum=grad_accum,
        unit=unit,
        source="tokens_per_step" if tokens_per_step else "batch_size",
        mean_row_tokens=round(mean, 1),
        tokens_per_step_target=tokens_per_step,
        tokens_per_step_expected=round(expected, 1),
    )


def liger_status(cuda: bool) -> dict[str, Any]:
    """Liger's Triton kernels (fused linear cross-entropy, RMSNorm, SwiGLU, RoPE) need the package and a GPU."""
    if importlib.util.find_spec("liger_kernel") is None:
        return {"active": False, "reason": "liger-kernel is not installed"}
    if not cuda:
        return {"active": False, "reason": "liger-kernel's Triton kernels need a CUDA device"}
    return {"active": True, "reason": None, "kernels": ["fused_linear_cross_entropy", "rms_norm", "swiglu", "rope"]}


def matmul_params(model) -> int:
    """Parameters that take part in a matmul per token: all of them but an untied input embedding
    (a lookup); a tied embedding is counted once, as the output projection."""
    total = sum(p.numel() for p in model.parameters())
    emb = model.get_input_embeddings()
    out = model.get_output_embeddings()
    tied = out is not None and emb is not None and out.weight.data_ptr() == emb.weight.data_ptr()
    return total if tied or emb is None else total - emb.weight.numel()


def attention_width(config) -> tuple[int, int]:
    """(layers, heads * head_dim) of the query side, which sets the score and value matmuls' size."""
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers, heads * head_dim


MFU_FORMULA = (
    "(4 * N * tokens + 6 * layers * heads * head_dim * sum(row_len^2)) / train_runtime_s / peak_flops; "
    "N = matmul params of the frozen base. LoRA with the base frozen: forward 2N per token, backward 2N "
    "(activation gradients only; no weight gradients for the base, LoRA's own are negligible), so 4N, not 6N. "
    "Attention per row: QK^T and AV are 4 * layers * width * len^2 FLOPs forward, halved by the causal mask, "
    "times 3 for forward + backward. Recomputation by gradient checkpointing is not counted (MFU, not HFU)."
)


def flops_per_epoch(n_matmul: int, layers: int, width: int, row_lengths: list[int]) -> float:
    return 4.0 * n_matmul * sum(row_lengths) + 6.0 * layers * width * sum(n * n for n in row_lengths)


def mfu(*, flops_per_epoch: float, epochs: float, train_runtime_s: float | None, peak: float | None) -> dict[str, Any]:
    achieved = flops_per_epoch * epochs / train_runtime_s if train_runtime_s else None
    value = achieved / peak if achieved and peak else None
    return {"value": value, "achieved_flops": achieved, "peak_flops": peak, "formula": MFU_FORMULA}


def as_json(x: Any) -> dict[str, Any]:
    return asdict(x)


class _FlashOnlyWarnings:
    """Drops TRL's warnings that packing needs flash attention: with transformers' block-diagonal
    SDPA mask it does not (test_packing checks the logits row by row), and the log should not
    say that rows may mix when they cannot."""

    def filter(self, record) -> bool:
        msg = record.getMessage()
        return not ("Flash Attention variant" in msg and ("Padding-free" in msg or "packing" in msg))


def quiet_flash_only_warnings(packing: Packing) -> None:
    import logging

    if packing.mode == SDPA_BLOCK_DIAGONAL:
        logger = logging.getLogger("trl.trainer.sft_trainer")
        if not any(isinstance(f, _FlashOnlyWarnings) for f in logger.filters):
            logger.addFilter(_FlashOnlyWarnings())
