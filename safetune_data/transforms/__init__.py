"""Transforms along the three safety factors, and dataset-level steps.

    from safetune_data import transforms as T
    T.structure.markdown(style="bullets")     # a record transform
    ds.map(T.roleplay.add(where="system"), batched=True)

Each submodule registers its classes under dotted names ("structure.markdown", ...).
"""
from __future__ import annotations

import importlib

from .base import REGISTRY, DatasetStep, Outcome, StepStats, Transform, get_transform, register, rng_for

# Submodules that define transforms. Each is imported on first use of the registry.
MODULES = ("structure", "identity", "roleplay", "filters", "dataset_steps", "select", "answers")
# Names under which dataset-level steps are reached from Python: T.mix.add, T.sample, T.dedup.
_DATASET_ATTRS = ("mix", "sample", "dedup")

_loaded = False


def load_all() -> dict[str, type[Transform]]:
    global _loaded
    if not _loaded:
        for mod in MODULES:
            try:
                importlib.import_module(f"{__name__}.{mod}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{mod}":
                    raise
        _loaded = True
    return REGISTRY


def __getattr__(name: str):
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _DATASET_ATTRS:
        return getattr(importlib.import_module(f"{__name__}.dataset_steps"), name)
    if name == "filter":
        return importlib.import_module(f"{__name__}.filters")
    raise AttributeError(name)


__all__ = ["REGISTRY", "DatasetStep", "Outcome", "StepStats", "Transform", "get_transform", "register", "rng_for", "load_all"]
