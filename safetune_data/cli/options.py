"""Parsing helpers shared by commands."""
from __future__ import annotations

from ..errors import ConfigError


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """`["user=instruction", "assistant=response"]` → {"user": "instruction", ...}."""
    out: dict[str, str] = {}
    for v in values or []:
        if "=" not in v:
            raise ConfigError(f"expected KEY=VALUE, got {v!r}", field=option)
        key, value = v.split("=", 1)
        key, value = key.strip(), value.strip()
        if not key or not value:
            raise ConfigError(f"expected KEY=VALUE, got {v!r}", field=option)
        out[key] = value
    return out
