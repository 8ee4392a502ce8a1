"""Packed training equals unpacked training on the same rows: labels, attention and loss.

Rows are packed by our build_trainer (TRL's best-fit-decreasing packing, padding-free, position
ids restarting per row) and compared with the same rows trained unpacked and padded. On the CPU
the packed rows are kept apart by SDPA with the block-diagonal mask transformers builds from the
position ids; the tests check that it is so, and that plain concatenation would not be.
Tolerance: fp32 on the CPU; logits within 1e-4 absolute, losses within 1e-5 relative (one
forward) and 1e-4 relative over three optimizer steps (sums in a different order drift a little).
"""

from __future__ import annotations

import io
import shutil
import tempfile

import pytest
import torch

from trainer import sft, throughput
from trainer.config import parse_config
from trainer.progress import Events, ProgressCallback
from trainer.rows import EncodedSet, encode_row, template_markers

from .conftest import plain_row, tool_row

ROWS = [
    tool_row("Run tests", "npm test", "3 passed", "3 passed"),
    plain_row("Say hi", "hi there"),
    tool_row("Build it", "make -j4 all", "ok", "built", system="You build things. " * 5),
    plain_row("Count to five", "one two three four five"),
    plain_row("Say bye", "bye now"),
]


@pytest.fixture(scope="module")
def encoded(tokenizer) -> EncodedSet:
    markers = template_markers(tokenizer)
    return EncodedSet(rows=[encode_row(tokenizer, markers, r) for r in ROWS], read=len(ROWS), dropped={}, examples={})


def make_trainer(tiny_model, encoded, *, packing: bool, steps: int = 3):
    """All rows in one micro-batch either way, so that packed and unpacked steps see the same tokens."""
    total = sum(len(r.input_ids) for r in encoded.rows)
    cfg = parse_config(
        {
            "model": str(tiny_model),
            "train_file": "unused.jsonl",
            "output_dir": "unused",
            "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"},
            "learning_rate": 1e-2,
            "batch_size": len(encoded.rows),
            "grad_accum": 1,
            "max_length": total,  # one bin holds every row
            "max_steps": steps,
            "packing": packing,
            "seed": 3,
        }
    )
    device = sft.pick_device(cfg)
    plan = sft.plan_for(cfg, encoded, device)
    from transformers import set_seed

    set_seed(cfg.seed)
    model = sft.load_model(cfg, device)
    tokenizer = sft.load_tokenizer(str(tiny_model))
    scratch = tempfile.mkdtemp(prefix="sabuild-pack-test-")
    callback = ProgressCallback(Events(io.StringIO()))
    trainer = sft.build_trainer(cfg, model, tokenizer, encoded, None, device, plan, scratch, callback)
    return trainer, device, plan, callback, scratch


@pytest.fixture(scope="module")
def pair(tiny_model, encoded):
    packed = make_trainer(tiny_model, encoded, packing=True)
    unpacked = make_trainer(tiny_model, encoded, packing=False)
    yield packed, unpacked
    for t in (packed, unpacked):
        shutil.rmtree(t[4], ignore_errors=True)


def only_batch(trainer) -> dict:
    batches = list(trainer.get_train_dataloader())
    assert len(batches) == 1
    return batches[0]


def segments(batch) -> list[tuple[int, int]]:
    """[start, end) of each row in a padding-free batch, from where its position ids restart."""
    pos = batch["position_ids"][0].tolist()
    starts = [i for i, p in enumerate(pos) if p == 0]
    return list(zip(starts, starts[1:] + [len(pos)]))


def test_cpu_packs_with_sdpa_block_diagonal(pair):
    (_, device, plan, _, _), (_, udevice, uplan, _, _) = pair
    assert device["packing"].mode == throughput.SDPA_BLOCK_DIAGONAL and plan.unit == "bins" and plan.per_device == 1
    assert udevice["packing"].mode == throughput.LENGTH_GROUPED and uplan.unit == "rows" and uplan.per_device == len(ROWS)


def test_each_packed_token_has_its_unpacked_label_and_position(pair, encoded):
    (packed, *_), (unpacked, *_) = pair
    pb, ub = only_batch(packed), only_batch(unpacked)
    assert "attention_mask" not in pb, "a 2-D mask would hide the packed rows from the attention"
    assert pb["input_ids"].shape[0] == 1 and pb["input_ids"].shape[1] == sum(len(r.input_ids) for r in encoded.rows)
    by_ids = {tuple(r.input_ids): r for r in encoded.rows}
    seen = 0
    for start, end in segments(pb):
        ids = tuple(pb["input_ids"][0, start:end].tolist())
        row = by_ids[ids]  # every segment is exactly one whole row
        expected = [t if m else -100 for t, m in zip(row.input_ids, row.assistant_masks)]
        expected[0] = -100  # the first token is never a target (and must not be one of the previous row)
        assert pb["labels"][0, start:end].tolist() == expected
        assert pb["position_ids"][0, start:end].tolist() == list(range(end - start))
        # The same row in the padded batch: same labels, padding ignored.
        i = [tuple(x[: len(ids)].tolist()) for x in ub["input_ids"]].index(ids)
        assert ub["labels"][i, : len(ids)].tolist() == expected
        assert ub["attention_mask"][i].sum().item() == len(ids)
        assert (ub["labels"][i, len(ids) :] == -100).all()
        seen += 1
    assert seen == len(ROWS)
    assert (pb["labels"] != -100).sum() == (ub["labels"] != -100).sum() == sum(sum(r.assistant_masks) for r in encoded.rows)


def row_logits(model, batch) -> list[torch.Tensor]:
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    if "position_ids" in batch and "attention_mask" not in batch:
        return [logits[0, s:e] for s, e in segments(batch)]
    return [logits[i, : int(n)] for i, n in enumerate(batch["attention_mask"].sum(1))]


def test_attention_never_crosses_rows(pair):
    (packed, *_), (unpacked, *_) = pair
    pb, ub = only_batch(packed), only_batch(unpacked)
    model = unpacked.model  # same seed, same weights: one model for both layouts
    by_ids = {tuple(ub["input_ids"][i, : int(n)].tolist()): x for i, (n, x) in enumerate(zip(ub["attention_mask"].sum(1), row_logits(model, ub)))}
    for (s, e), x in zip(segments(pb), row_logits(model, pb)):
        ref = by_ids[tuple(pb["input_ids"][0, s:e].tolist())]
        torch.testing.assert_close(x, ref, atol=1e-4, rtol=1e-4)
    # The control: the same tokens concatenated with one running position would mix rows.
    leaky = {"input_ids": pb["input_ids"], "position_ids": torch.arange(pb["input_ids"].shape[1])[None]}
    with torch.no_grad():
        mixed = model(**leaky).logits[0]
    s, e = segments(pb)[1]
    ref = by_ids[tuple(pb["input_ids"][0, s:e].tolist())]
    assert (mixed[s:e] - ref).abs().max() > 1e-2


def test_loss_matches_unpacked(pair):
    (packed, *_), (unpacked, *_) = pair
    pb, ub = only_batch(packed), only_batch(unpacked)
    model = unpacked.model
    with torch.no_grad():
        lp = model(**pb).loss.item()
        lu = model(**ub).loss.item()
    assert lp == pytest.approx(lu, rel=1e-5)


def test_training_matches_unpacked(pair, encoded):
    """Three optimizer steps each way from the same LoRA init: the same loss curve."""
    (packed, _, _, pcb, _), (unpacked, _, _, ucb, _) = pair
    packed.train()
    unpacked.train()
    lp = [p["loss"] for p in pcb.curve]
    lu = [p["loss"] for p in ucb.curve]
    assert len(lp) == len(lu) == 3
    assert lp == pytest.approx(lu, rel=1e-4)
    assert lp[-1] < lp[0]  # it trained
    assert packed.state.num_input_tokens_seen == unpacked.state.num_input_tokens_seen == 3 * sum(len(r.input_ids) for r in encoded.rows)

