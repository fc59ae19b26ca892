"""safetune_data: safety-aware instruction data.

    import safetune_data as st
    ds = st.read("alpaca_en_demo.json")                  # datasets.Dataset of records
    st.write(ds, "out/")                                  # Arrow shards + manifest + card
    from safetune_data import Pipeline, transforms as T
    Pipeline([T.structure.markdown(style="bullets")], seed=0).run(ds)
"""
from __future__ import annotations

__version__ = "0.1.0"  # before the imports below: io.api reads it while they load

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from . import transforms  # noqa: E402  (light: the registry only)
from .card import write_card  # noqa: E402  (light: the profile behind it is imported when a card is written)
from .io import api as _api  # noqa: E402
from .io.api import read  # noqa: E402
from .pipeline import Pipeline  # noqa: E402


def convert(inputs: str | list[str], out: str | Path, *, card: bool = True, **options: Any) -> dict[str, Any]:
    """`io.api.convert` (files to shards + manifest) with a dataset card unless `card=False`."""
    return _api.convert(inputs, out, card=write_card if card else None, **options)


def write(ds: Any, out: str | Path, *, card: bool = True, **options: Any) -> dict[str, Any]:
    """`io.api.write` (a Dataset of records to shards + manifest) with a dataset card unless `card=False`."""
    return _api.write(ds, out, card=write_card if card else None, **options)


__all__ = ["Pipeline", "convert", "read", "transforms", "write", "__version__"]
