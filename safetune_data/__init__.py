"""safetune_data: safety-aware instruction data.

    import safetune_data as st
    ds = st.read("alpaca_en_demo.json")                  # datasets.Dataset of records
    st.write(ds, "out/")                                  # Arrow shards + manifest + card
    from safetune_data import Pipeline, transforms as T
    Pipeline([T.structure.markdown(style="bullets")], seed=0).run(ds)
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import transforms  # noqa: E402  (light: the registry only)
from .io.api import convert, read, write  # noqa: E402


def __getattr__(name: str):
    if name in ("Pipeline",):
        from .pipeline import Pipeline

        return Pipeline
    raise AttributeError(name)


__all__ = ["Pipeline", "convert", "read", "transforms", "write", "__version__"]
