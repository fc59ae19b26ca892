"""Shared fixtures: real public data from the repository's data/ folder (see data/SOURCES.md)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
# SAFETUNE_SHARED_DATA points the tests at another copy of the same files.
SHARED_DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data not found at {SHARED_DATA}; set SAFETUNE_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def alpaca_path(shared_data: Path) -> Path:
    return shared_data / "benign" / "alpaca_en_demo.json"


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run the `safetune` CLI in-process: returns (exit code, stdout, stderr)."""
    import sys

    from safetune_data.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["safetune", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, alpaca_path) -> Path:
    """A tiny chat model (2-layer Llama, tokenizer trained on 200 real Alpaca answers), built
    once per session for every test package that needs one (torch imported only then)."""
    import json

    from safetune_data.harness.tiny import build_tiny_model

    texts = [a["output"] for a in json.loads(alpaca_path.read_text(encoding="utf-8"))[:200]]
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", texts)
