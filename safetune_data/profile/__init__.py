"""The factor profile of a dataset: how much of it carries each safety-relevant property.

    from safetune_data.profile import profile_table, profile_paths
    p = profile_table(ds, name="alpaca")            # one dataset -> dict
    doc = profile_paths(["orig/", "variant/"])      # two -> side by side with the diff

Detection runs batch by batch (`compute`), statistics in polars (`aggregate`), and output
as a rich table, markdown, JSON and PNG plots (`render`).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from .aggregate import PROFILE_VERSION, aggregate, diff, figures
from .compute import (
    DEFAULT_BATCH_ROWS,
    IDENTITY_KINDS,
    STRUCTURE_CLASSES,
    Detectors,
    TableDetector,
    TokenCounter,
    iter_batches,
    load_detectors,
    num_rows,
)
from .load import load_input

SCHEMA_ID = "safetune.profile/1"


def profile_table(
    data: Any,
    *,
    name: str = "dataset",
    tokenizer: str | TokenCounter | None = None,
    detectors: Detectors | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
    timings: dict | None = None,
) -> dict:
    """Profile a record table (`datasets.Dataset` or `pyarrow.Table`).

    `timings`, when given, receives detect_s / aggregate_s: kept out of the profile itself
    so that the profile of the same data is always the same.
    """
    counter = TokenCounter(tokenizer) if isinstance(tokenizer, str) else tokenizer
    runner = TableDetector(detectors or load_detectors(), counter)
    t0 = time.perf_counter()
    for batch in iter_batches(data, batch_rows):
        runner.add(batch)
        if on_batch is not None:
            on_batch(batch.num_rows)
    turns, convs = runner.frames()
    t1 = time.perf_counter()
    result = aggregate(
        turns, convs, rows=runner.rows, name=name, tokenizer=counter.name_or_path if counter else None
    )
    if timings is not None:
        timings.update(detect_s=t1 - t0, aggregate_s=time.perf_counter() - t1, rows=runner.rows)
    return result


def document(profiles: list[dict]) -> dict:
    """The JSON document: one or two profiles, and the difference when there are two."""
    doc: dict[str, Any] = {"schema": SCHEMA_ID, "version": PROFILE_VERSION, "profiles": profiles}
    if len(profiles) == 2:
        doc["diff"] = diff(profiles[0], profiles[1])
    return doc


def profile_paths(
    paths: list[str | Path],
    *,
    format: str | None = None,
    mapping: dict | None = None,
    tokenizer: str | None = None,
    on_start: Callable[[str, int], Callable[[int], None] | None] | None = None,
) -> dict:
    """Profile each path (an input file `convert` reads, or an output directory)."""
    profiles = []
    counter = TokenCounter(tokenizer) if tokenizer else None
    for path in paths:
        ds = load_input(path, format=format, mapping=mapping)
        callback = on_start(str(path), num_rows(ds)) if on_start else None
        profiles.append(profile_table(ds, name=str(path), tokenizer=counter, on_batch=callback))
    return document(profiles)


__all__ = [
    "IDENTITY_KINDS",
    "STRUCTURE_CLASSES",
    "Detectors",
    "TokenCounter",
    "aggregate",
    "diff",
    "document",
    "figures",
    "load_detectors",
    "load_input",
    "profile_paths",
    "profile_table",
]
