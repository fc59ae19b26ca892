"""Bundled example datasets (small, permissively licensed, each with its own card)."""
from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

EXAMPLES = {
    "sharegpt-sample": {
        "file": "sharegpt-sample.jsonl",
        "card": "sharegpt-sample.md",
        "license": "apache-2.0",
        "description": "119 ShareGPT conversations with preferred answers (LLaMA-Factory dpo_en_demo, Apache-2.0)",
    },
}


def example_path(name: str) -> Path:
    if name not in EXAMPLES:
        raise ConfigError(f"unknown example '{name}'", field="example", hint=f"one of {', '.join(EXAMPLES)}")
    return Path(__file__).resolve().parent / "data" / "examples" / EXAMPLES[name]["file"]
