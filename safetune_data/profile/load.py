"""Open whatever `profile` is pointed at: an input file or an output directory.

Reading belongs to the io layer (`safetune_data.read`); this only checks that the path
exists, so that the message names it, and words read failures as input errors.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError, SafetuneError
from ..io.api import read


def load_input(path: str | Path, *, format: str | None = None, mapping: dict | None = None) -> Any:
    """A `datasets.Dataset` of records for `path`."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", file=str(path))
    try:
        return read(str(p), format=format, mapping=mapping)
    except SafetuneError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {type(exc).__name__}: {exc}", file=str(path)) from None
