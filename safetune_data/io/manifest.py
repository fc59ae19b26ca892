"""`manifest.json`: provenance and per-step stats of an output directory.

Validated against `schemas/manifest.schema.json` before it is written. Nothing secret goes
in: the command line is recorded with values of options named like keys/tokens masked.
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from ..schemas import load_schema
from .atomic import write_json_atomic

_SECRET = re.compile(r"(key|token|secret|password)", re.I)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("safetune-data", "datasets", "pyarrow", "polars", "spacy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def safe_command(argv: list[str]) -> list[str]:
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            out.append("***")
            mask_next = False
        elif arg.startswith("--") and _SECRET.search(arg):
            name, eq, _ = arg.partition("=")
            out.append(name + "=***" if eq else arg)
            mask_next = not eq  # `--api-key VALUE`: the value is the next argument
        else:
            out.append(arg)
    return out


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    import jsonschema

    jsonschema.validate(manifest, load_schema("manifest"))
    return write_json_atomic(Path(directory) / "manifest.json", manifest, overwrite=True)


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / "manifest.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())
