"""Held-out loss on a fixed record set, and per-row fine-tune seeds."""
from __future__ import annotations

import math

import pytest

from safetune_data.harness.finetune import IGNORE_INDEX, encode_dataset, heldout_loss


def test_heldout_loss_equals_a_hand_computed_per_conversation_mean(tmp_path, make_variant, tiny):
    import datasets
    import torch

    model, tok = tiny
    d = make_variant(tmp_path / "h", 300, 6)
    res = heldout_loss(model, tok, d, max_length=96, batch_size=4)
    rows, _ = encode_dataset(datasets.load_from_disk(str(d)), tok, 96)
    per_row, tot, ntok = [], 0.0, 0
    with torch.no_grad():
        for r in rows:  # one conversation at a time: no padding involved
            ids = torch.tensor([r["input_ids"]])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
            lab = torch.tensor(r["labels"][1:])
            keep = lab != IGNORE_INDEX
            nll = -logp[keep].gather(1, lab[keep].unsqueeze(1)).squeeze(1)
            per_row.append(float(nll.mean()))
            tot += float(nll.sum())
            ntok += int(keep.sum())
    assert res["n"] == len(rows) == 6
    assert res["loss"] == pytest.approx(sum(per_row) / len(per_row), rel=1e-4)
    assert res["token_loss"] == pytest.approx(tot / ntok, rel=1e-4)
    assert res["tokens"] == ntok
    assert res["ci_low"] <= res["loss"] <= res["ci_high"]


def test_runner_reports_heldout_loss_on_every_row_and_honours_row_seed(tmp_path, make_variant, tiny_model_dir, shared_data):
    import yaml

    from safetune_data.harness.runner import run

    make_variant(tmp_path / "v", 0, 12)
    make_variant(tmp_path / "held", 400, 5)
    cfg = {
        "model": {"path": str(tiny_model_dir)}, "device": "cpu",
        "heldout_loss": {"data": "held", "max_length": 512},
        "variants": [{"dir": "v", "name": "s0"}, {"dir": "v", "name": "s1", "finetune": {"seed": 1}}],
        "finetune": {"epochs": 1, "batch_size": 4, "max_length": 96, "learning_rate": 0.005, "val_fraction": 0.0},
        "generate": {"max_new_tokens": 4},
        "benchmarks": [{"name": "advbench", "path": str(shared_data / "harmful" / "advbench_harmful_behaviors.csv"), "n": 2}],
        "judges": ["keyword"],
    }
    (tmp_path / "h.yaml").write_text(yaml.safe_dump(cfg))
    doc = run(tmp_path / "h.yaml")
    rows = {r["name"]: r for r in doc["rows"]}
    assert all(r["heldout_loss"]["n"] == 5 and math.isfinite(r["heldout_loss"]["loss"]) for r in rows.values())
    assert rows["s0"]["finetune"]["seed"] == 0 and rows["s1"]["finetune"]["seed"] == 1
    # a different seed gives a different adapter init and order, hence a different held-out loss
    assert rows["s0"]["heldout_loss"]["loss"] != rows["s1"]["heldout_loss"]["loss"]
    assert rows["base"]["heldout_loss"]["loss"] != rows["s0"]["heldout_loss"]["loss"]
