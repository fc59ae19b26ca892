"""Index batches of similar length, shared by generation, reward scoring and risk scoring.

Padding every batch to its longest member wastes the difference; grouping rows of similar
length keeps that small. Longest first also makes an out-of-memory error show up on the first
batch, not the last.
"""
from __future__ import annotations

from typing import Sequence

from .errors import ConfigError


def length_sorted_batches(lengths: Sequence[int], batch_size: int, sort_by_length: bool = True) -> list[list[int]]:
    """Indices in batches of `batch_size`: longest first (ties by index), or in input order."""
    if batch_size < 1:
        raise ConfigError("batch size must be at least 1", field="batch_size")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)) if sort_by_length else list(range(len(lengths)))
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
