"""Pipeline provenance carried by a `datasets.Dataset` from `Pipeline.run` to `write`.

`Pipeline(...).run(ds)` returns a Dataset whose `info.description` holds one line
``safetune_data provenance: {"seed": ..., "steps": [...]}`` (the per-step stats of that run,
as `Pipeline.stats_dicts()` gives them). `datasets` copies `info` through `map`, `filter`,
`select`, `shuffle`, `train_test_split`, `concatenate_datasets` of one lineage and
`save_to_disk`, so `safetune_data.write` can record the seed and steps in the manifest. Steps
applied later with a bare `ds.map(t)` are logged per row in `meta.transforms` only.
"""
from __future__ import annotations

import json
from typing import Any

PREFIX = "safetune_data provenance: "


def with_provenance(description: str | None, seed: int, steps: list[dict]) -> str:
    """`description` with its provenance line replaced by this run's."""
    keep = [line for line in (description or "").splitlines() if not line.startswith(PREFIX)]
    line = PREFIX + json.dumps({"seed": seed, "steps": steps}, ensure_ascii=False, sort_keys=True, default=str)
    return "\n".join([*filter(None, keep), line])


def provenance(ds: Any) -> dict | None:
    """{"seed", "steps"} recorded by the Pipeline run that made `ds`, or None.

    None too when `ds` merges rows of several runs (two different provenance lines)."""
    info = getattr(ds, "info", None)
    found = {line for line in (getattr(info, "description", None) or "").splitlines() if line.startswith(PREFIX)}
    if len(found) != 1:
        return None
    try:
        data = json.loads(found.pop()[len(PREFIX):])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return None
    return {"seed": data.get("seed"), "steps": data["steps"]}
