"""JSON Schemas shipped with the package (also at the repository's top-level `schemas/`)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """Load `<name>.schema.json` from this package."""
    text = (Path(__file__).resolve().parent / f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)
