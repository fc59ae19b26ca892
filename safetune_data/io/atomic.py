"""Single output files written whole or not at all, and never over a file without consent.

`atomic_write(path)` writes into `.<name>.tmp-<pid>-<random>` beside `path` and renames it
over `path` (`os.replace`) only when the block finishes; on any error, or Ctrl-C, the
temporary file is removed and `path` is left as it was. An existing `path` is refused
(ConfigError, exit 2) unless `overwrite=True`.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import IO, Iterable, Iterator

from ..errors import ConfigError
from .tempdirs import sweep_siblings


def check_file_target(path: str | Path, overwrite: bool = False, *, option: str = "--overwrite") -> Path:
    """Refuse (ConfigError) an output file that exists unless `overwrite`, or that is a folder."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError("output is a directory, not a file", file=str(path), hint="name a file to write")
    if path.exists() and not overwrite:
        raise ConfigError("output file already exists", file=str(path), hint=f"pass {option} to replace it")
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """A temporary path beside `path` to write to by name (e.g. savefig: pass the format, the
    name has no extension); moved over `path` when the block ends without error, removed
    otherwise."""
    path = check_file_target(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_siblings(path)
    while True:  # created here (mode 0666 less umask, as a plain write would) so the name is ours
        tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        if not overwrite and path.exists():  # appeared while we were writing
            raise ConfigError("output file already exists", file=str(path), hint="pass --overwrite to replace it")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_write(path: str | Path, *, overwrite: bool = False, binary: bool = False,
                 encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside `path` for writing; it replaces `path` when the block
    ends without error. Refuses an existing `path` unless `overwrite`."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") if binary else open(tmp, "w", encoding=encoding) as fh:
            yield fh


def write_text_atomic(path: str | Path, text: str, *, overwrite: bool = False, encoding: str = "utf-8") -> Path:
    """`Path.write_text`, atomically, refusing an existing file unless `overwrite`."""
    with atomic_write(path, overwrite=overwrite, encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, obj: object, *, overwrite: bool = False) -> Path:
    """`obj` as indented UTF-8 JSON, atomically (results, row markers, reports)."""
    return write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n", overwrite=overwrite)


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict], *, overwrite: bool = False) -> Path:
    """One JSON object a line, atomically."""
    with atomic_write(path, overwrite=overwrite) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return Path(path)
