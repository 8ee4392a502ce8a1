"""The batch from a token budget, the packing mode, the kernels and the MFU formula."""

from __future__ import annotations

import pytest

from trainer import throughput
from trainer.config import ConfigError, parse_config

LENGTHS = [100, 300, 500, 1100]  # mean 500


def test_batch_size_is_kept_without_a_token_budget():
    p = throughput.plan_batch(batch_size=4, grad_accum=2, tokens_per_step=None, max_length=2048, row_lengths=LENGTHS, packed=False)
    assert (p.per_device, p.unit, p.source, p.tokens_per_step_expected) == (4, "rows", "batch_size", 4000)


def test_token_budget_sets_rows_per_micro_batch():
    # 8000 tokens per step over 2 accumulation steps: 4000 per micro-batch, 8 rows of 500.
    p = throughput.plan_batch(batch_size=4, grad_accum=2, tokens_per_step=8000, max_length=2048, row_lengths=LENGTHS, packed=False)
    assert (p.per_device, p.unit, p.source, p.tokens_per_step_target) == (8, "rows", "tokens_per_step", 8000)


def test_token_budget_sets_bins_when_packed():
    p = throughput.plan_batch(batch_size=4, grad_accum=1, tokens_per_step=8192, max_length=2048, row_lengths=LENGTHS * 10, packed=True)
    assert (p.per_device, p.unit) == (4, "bins")
    # Packed without a budget: the bins that hold batch_size rows' tokens (4 x 500 -> one of 2048).
    q = throughput.plan_batch(batch_size=4, grad_accum=1, tokens_per_step=None, max_length=2048, row_lengths=LENGTHS, packed=True)
    assert (q.per_device, q.unit, q.source) == (1, "bins", "batch_size")
    # Never less than one.
    r = throughput.plan_batch(batch_size=1, grad_accum=8, tokens_per_step=100, max_length=2048, row_lengths=LENGTHS, packed=False)
    assert r.per_device == 1


def test_tokens_per_step_is_checked():
    base = {"model": "m", "train_file": "t", "output_dir": "o"}
    assert parse_config({**base, "tokens_per_step": 65536}).tokens_per_step == 65536
    for bad in (0, 1.5, "many", True):
        with pytest.raises(ConfigError, match="tokens_per_step"):
            parse_config({**base, "tokens_per_step": bad})


def test_packing_mode_on_this_machine():
    # No CUDA here: SDPA with the block-diagonal mask when packing is asked for, padded batches otherwise.
    assert throughput.transformers_splits_packed_rows()
    assert throughput.pick_packing(True, cuda=False).mode == throughput.SDPA_BLOCK_DIAGONAL
    off = throughput.pick_packing(False, cuda=False)
    assert off.mode == throughput.LENGTH_GROUPED and not off.packed


def test_liger_is_inactive_with_a_reason():
    status = throughput.liger_status(cuda=False)
    assert status["active"] is False and status["reason"]


def test_mfu_counts_4n_plus_attention():
    flops = throughput.flops_per_epoch(1_000_000, 2, 64, [10, 20])
    assert flops == 4 * 1_000_000 * 30 + 6 * 2 * 64 * (100 + 400)
    m = throughput.mfu(flops_per_epoch=flops, epochs=2, train_runtime_s=4, peak=1e9)
    assert m["achieved_flops"] == flops * 2 / 4 and m["value"] == pytest.approx(flops * 2 / 4 / 1e9)
    assert throughput.mfu(flops_per_epoch=flops, epochs=2, train_runtime_s=4, peak=None)["value"] is None
    assert "4 * N" in m["formula"]


def test_a_step_is_shared_by_data_parallel_processes_keeping_the_global_batch():
    p = throughput.plan_batch(batch_size=4, grad_accum=2, tokens_per_step=None, max_length=2048, row_lengths=LENGTHS, packed=False)
    assert throughput.split_for_world(p, 1) == p
    # Fewer accumulation steps first, then a smaller micro-batch: 8 rows per step either way.
    two = throughput.split_for_world(p, 2)
    assert (two.per_device, two.grad_accum, two.world_size) == (4, 1, 2)
    four = throughput.split_for_world(p, 4)
    assert (four.per_device, four.grad_accum, four.world_size) == (2, 1, 4)
    assert four.per_device * four.grad_accum * four.world_size == p.per_device * p.grad_accum
    with pytest.raises(ValueError, match="cannot be shared by 3 processes without changing the global batch; make train.grad_accum or train.batch_size a multiple of 3"):
        throughput.split_for_world(p, 3)
