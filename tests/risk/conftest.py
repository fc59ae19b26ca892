"""Risk fixtures: the session's tiny chat model (tests/conftest.py) loaded for scoring, and
datasets of real Alpaca rows."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")


@pytest.fixture(scope="session")
def lm(tiny_model_dir):
    from safetune_data.risk.lm import RiskLM

    return RiskLM(tiny_model_dir, device="cpu", max_length=192)


def alpaca_conversations(alpaca_path: Path, start: int, n: int) -> list[list[dict]]:
    rows = json.loads(alpaca_path.read_text(encoding="utf-8"))[start: start + n]
    return [[{"role": "user", "content": a["instruction"] + (f"\n\n{a['input']}" if a.get("input") else "")},
             {"role": "assistant", "content": a["output"]}] for a in rows]


@pytest.fixture(scope="session")
def conversations(alpaca_path):
    return lambda start, n: alpaca_conversations(alpaca_path, start, n)


@pytest.fixture
def dataset_dir(tmp_path, alpaca_path):
    """dataset_dir(name, start, n, edit=None) -> a records dir (save_to_disk + manifest)."""
    import datasets

    def make(name: str, start: int = 0, n: int = 8, edit=None, factors: dict | None = None) -> Path:
        convs = alpaca_conversations(alpaca_path, start, n)
        if edit:
            convs = [edit(c) for c in convs]
        out = tmp_path / name
        datasets.Dataset.from_list([{"id": f"{name}-{i}", "messages": c} for i, c in enumerate(convs)]).save_to_disk(str(out))
        (out / "manifest.json").write_text(json.dumps({"variant": name, "factors": factors or {}}))
        return out

    return make
