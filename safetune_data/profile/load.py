"""Open whatever `profile` is pointed at: an input file or an output directory.

Reading belongs to the io layer (`safetune_data.read`); this only checks that the path
exists (so the message names it) and falls back to `datasets.load_from_disk` for saved
directories when the io layer is not importable (e.g. a trimmed install).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError, SafetuneError


def _reader():
    try:
        from safetune_data import read  # type: ignore[attr-defined]
    except ImportError:
        return None
    return read


def load_input(path: str | Path, *, format: str | None = None, mapping: dict | None = None) -> Any:
    """A `datasets.Dataset` of records for `path`."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", file=str(path))
    read = _reader()
    if read is not None:
        try:
            return read(str(p), format=format, mapping=mapping)
        except SafetuneError:
            raise
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {type(exc).__name__}: {exc}", file=str(path)) from None
    if p.is_dir() and (p / "state.json").exists():
        import datasets

        try:
            return datasets.load_from_disk(str(p))
        except Exception as exc:  # noqa: BLE001 - a broken directory is a user-fixable input problem
            raise InputError(f"cannot load the saved dataset: {type(exc).__name__}: {exc}", file=str(path)) from None
    raise InputError(
        "cannot read this input: the reader for input files (safetune_data.read) is not available",
        file=str(path),
        hint="profile an output directory of `safetune convert` / `safetune run`",
    )
