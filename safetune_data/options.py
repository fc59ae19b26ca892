"""KEY=VALUE arguments (`--map`, `--option`, `--set`): one syntax and one error for all."""
from __future__ import annotations

from typing import Any, Iterable

import yaml

from .errors import ConfigError


def split_pairs(items: Iterable[str] | None, option: str, *, need_value: bool = False) -> list[tuple[str, str]]:
    """(key, raw value) in the order given; the key is stripped, the value kept as written
    so that each option can read it its own way (a column name, a YAML value)."""
    pairs: list[tuple[str, str]] = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or (need_value and not value.strip()):
            raise ConfigError(f"expected KEY=VALUE, got {item!r}", field=option)
        pairs.append((key.strip(), value))
    return pairs


def parse_pairs(items: Iterable[str] | None, option: str) -> dict[str, str]:
    """`["user=instruction", "assistant=response"]` → {"user": "instruction", ...}."""
    return {key: value.strip() for key, value in split_pairs(items, option, need_value=True)}


def yaml_value(text: str, *, scalar: bool = False) -> Any:
    """A value written on the command line, read as YAML (0.4 -> float, true -> bool); with
    `scalar`, anything but a scalar (or unparsable text) stays the string as written."""
    if not text.strip():
        return ""
    if not scalar:
        return yaml.safe_load(text)
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return parsed if parsed is None or isinstance(parsed, (str, int, float, bool)) else text
