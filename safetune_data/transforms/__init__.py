"""Transforms along the three safety factors, and dataset-level steps.

    from safetune_data import transforms as T
    T.structure.markdown(style="bullets")     # a record transform
    ds.map(T.roleplay.add(where="system"), batched=True)
    T.TRANSFORMS.get("structure.markdown")    # the class registered under that name

Each submodule registers its classes under dotted names ("structure.markdown", ...).
"""
from __future__ import annotations

import importlib

from .base import MODULES, TRANSFORMS, DatasetStep, Outcome, Step, StepStats, Transform, register, rng_for

# Names under which dataset-level steps are reached from Python: T.mix.add, T.sample, T.dedup.
_DATASET_ATTRS = ("mix", "sample", "dedup")


def __getattr__(name: str):
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _DATASET_ATTRS:
        return getattr(importlib.import_module(f"{__name__}.dataset_steps"), name)
    if name == "filter":
        return importlib.import_module(f"{__name__}.filters")
    raise AttributeError(name)


__all__ = ["TRANSFORMS", "DatasetStep", "Step", "Outcome", "StepStats", "Transform", "register", "rng_for"]
