"""Harness fixtures: one tiny chat model per test session, variant dirs from real alpaca rows."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")


def alpaca_records(alpaca_path: Path, start: int, n: int, answer=lambda s: s) -> list[dict]:
    rows = json.loads(alpaca_path.read_text(encoding="utf-8"))[start: start + n]
    out = []
    for i, a in enumerate(rows, start=start):
        user = a["instruction"] + (f"\n\n{a['input']}" if a.get("input") else "")
        out.append({
            "id": f"alpaca_en_demo-{i:06d}",
            "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer(a["output"])}],
            "meta": {"source": "alpaca_en_demo.json", "source_index": i},
        })
    return out


def save_variant(records: list[dict], out_dir: Path, factors: dict | None = None) -> Path:
    """A variant dir as `safetune run` leaves it: save_to_disk shards + manifest.json."""
    import datasets

    datasets.Dataset.from_list(records).save_to_disk(str(out_dir))
    (out_dir / "manifest.json").write_text(json.dumps({"rows": len(records), "factors": factors or {}}))
    return out_dir


@pytest.fixture(scope="session")
def make_variant(alpaca_path):
    """make_variant(dir, start, n, answer=fn, factors=...) -> a variant dir of real alpaca rows."""

    def make(out_dir: Path, start: int = 0, n: int = 20, answer=lambda s: s, factors: dict | None = None) -> Path:
        return save_variant(alpaca_records(alpaca_path, start, n, answer), out_dir, factors)

    return make


@pytest.fixture()
def variant_from_records(alpaca_path):
    """(records(start, n), save(records, dir)): edit real alpaca records before saving a variant."""
    return (lambda start, n: alpaca_records(alpaca_path, start, n)), save_variant


@pytest.fixture(scope="session")
def tiny(tiny_model_dir):
    from safetune_data.harness.models import load_causal_lm, load_tokenizer

    return load_causal_lm(tiny_model_dir, device="cpu"), load_tokenizer(tiny_model_dir)
