"""Arrow shards in the layout `datasets.save_to_disk` writes, into a temporary sibling dir.

Nothing is half-written: `OutputDir` builds everything in `.<name>.tmp-<pid>` beside the
target and renames it into place only in `commit()`; on any error the temp dir is removed,
and one left by a killed process is removed by the next `OutputDir` for the same target.
`--overwrite` replaces only an empty folder or one safetune wrote (`check_output_dir`).
Shards are Arrow IPC streams named `data-0000k-of-0000N.arrow`, with `dataset_info.json` and
`state.json`, so `datasets.load_from_disk(out)` just works. Shard boundaries depend only on
the rows and the shard size, so the same input gives byte-identical shards.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Callable

import pyarrow as pa

from ..errors import ConfigError, InputError
from .tempdirs import sweep_siblings

DEFAULT_SHARD_SIZE = "500MB"
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_shard_size(value: str | int) -> tuple[str, int]:
    """`10000` → ("rows", 10000); `256MB` → ("bytes", 256_000_000)."""
    if isinstance(value, int):
        return ("rows", value)
    text = str(value).strip().upper().replace(" ", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]I?B|B)?", text)
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"invalid shard size {value!r}", field="shard-size", hint="a row count like 50000 or a size like 256MB")
    if m.group(2) is None:
        return ("rows", int(float(m.group(1))))
    return ("bytes", int(float(m.group(1)) * _UNITS[m.group(2)]))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _feature(t: pa.DataType) -> dict:
    """`datasets` feature dict of an Arrow type (the subset records use)."""
    if pa.types.is_struct(t):
        return {t.field(i).name: _feature(t.field(i).type) for i in range(t.num_fields)}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"feature": _feature(t.value_type), "_type": "List"}
    if pa.types.is_large_string(t):
        return {"dtype": "large_string", "_type": "Value"}
    if pa.types.is_floating(t):
        return {"dtype": f"float{t.bit_width}", "_type": "Value"}
    return {"dtype": "string" if pa.types.is_string(t) else str(t), "_type": "Value"}


def features_dict(schema: pa.Schema) -> dict:
    """What `datasets.Features.from_arrow_schema(schema).to_dict()` gives, without importing
    `datasets` (a second of start-up that every convert would pay)."""
    return {f.name: _feature(f.type) for f in schema}


def features_schema(schema: pa.Schema) -> pa.Schema:
    """The schema with the `huggingface` features metadata `datasets` expects."""
    meta = {b"huggingface": json.dumps({"info": {"features": features_dict(schema)}}).encode()}
    return schema.with_metadata(meta)


# A folder counts as written by safetune when one of these files holds these keys; only such a
# folder (or an empty one) is ever replaced by --overwrite. The io layer knows these as data:
# manifest.json of convert/write/run variants/rm score, index.json of `safetune run`,
# eval.json of `safetune rm eval`.
OUTPUT_MARKERS: dict[str, tuple[str, ...]] = {
    "manifest.json": ("safetune_version",),
    "index.json": ("recipe_file", "variants"),
    "eval.json": ("schema_version", "pairs", "models"),
    "summary.json": ("model_fingerprint", "scorers", "datasets"),  # safetune risk
}
LISTED = 5  # files named in a refusal; the rest are counted


def is_safetune_output(path: str | Path) -> bool:
    """True when `path` is a folder that one of OUTPUT_MARKERS says safetune wrote."""
    p = Path(path)
    for name, keys in OUTPUT_MARKERS.items():
        try:
            doc = json.loads((p / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and all(k in doc for k in keys):
            return True
    return False


def protected_reason(path: str | Path) -> str | None:
    """Why `path` must never be replaced or filled by an output (None when it may be): it is
    the root, the home directory, the current directory or one of its parents."""
    p = Path(path).expanduser().resolve()
    if p == Path(p.anchor):
        return "it is the root directory"
    try:
        if p == Path.home().resolve():
            return "it is your home directory"
    except (RuntimeError, KeyError):
        pass
    cwd = Path.cwd().resolve()
    if p == cwd:
        return "it is the current directory"
    if p in cwd.parents:
        return "it holds the current directory"
    return None


def describe_contents(path: Path) -> str:
    """`a.txt, b/, c.json and 12 more` (the first LISTED entries, sorted)."""
    names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(path))
    head = ", ".join(names[:LISTED])
    return head + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def refuse_unusable_dir(target: Path, what: str, option: str, hint: str) -> None:
    """Exit 2 (ConfigError) when an existing `target` is not a directory, or is a place never
    written into (`protected_reason`). `what` names the output in the message ("the results")."""
    if not target.is_dir():
        raise ConfigError("output exists and is not a directory", file=str(target), hint=f"choose another {option}")
    reason = protected_reason(target)
    if reason:
        raise ConfigError(f"refusing to write {what} here: {reason}", file=str(target), hint=hint)


def check_output_dir(target: str | Path, overwrite: bool = False,
                     ours: Callable[[Path], bool] | None = None) -> Path:
    """Refuse (ConfigError, exit 2) to replace `target` unless it does not exist, or
    `overwrite` is given and it is empty or written by safetune (`is_safetune_output`, or the
    caller's `ours`). The root, home, current directory and its parents are always refused."""
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return target
    refuse_unusable_dir(target, "the output", "--out", "name a new folder for --out, e.g. out/NAME")
    if not overwrite:
        raise ConfigError("output already exists", file=str(target), hint="pass --overwrite to replace it")
    empty = next(os.scandir(target), None) is None
    if empty or is_safetune_output(target) or (ours is not None and ours(target)):
        return target
    n = sum(1 for _ in os.scandir(target))
    raise ConfigError(
        f"refusing to replace a folder safetune did not write; its {n} entr{'y' if n == 1 else 'ies'} "
        f"would be lost: {describe_contents(target)}",
        file=str(target), hint="choose another --out, or move those files away first",
    )


class OutputDir:
    """A temporary output directory committed atomically to `target`.

    The temporary is `.<name>.tmp-<pid>` beside `target`; ones left by killed processes are
    removed here first. An existing `target` is replaced only as `check_output_dir` allows."""

    def __init__(self, target: str | Path, overwrite: bool = False,
                 ours: Callable[[Path], bool] | None = None) -> None:
        self.target = check_output_dir(target, overwrite, ours)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        sweep_siblings(self.target)
        self.path = self.target.parent / f".{self.target.name}.tmp-{os.getpid()}"
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir()
        self.committed = False

    def commit(self) -> Path:
        old = None
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.rename(self.target, old)
        try:
            os.rename(self.path, self.target)
        except BaseException:
            if old is not None:  # put the previous output back
                os.rename(old, self.target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.committed = True
        return self.target

    def abort(self) -> None:
        if not self.committed and self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> "OutputDir":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort()  # a block left without commit() (error, Ctrl-C, early return) leaves nothing


class ShardWriter:
    """Write record batches into size-bounded shards under `directory` (no sub-dirs)."""

    BATCH_ROWS = 1000  # rows per IPC batch; 256 when shards are bounded in bytes

    def __init__(self, directory: Path, schema: pa.Schema, shard_size: str | int = DEFAULT_SHARD_SIZE, prefix: str = "") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.schema = features_schema(schema)
        self.unit, self.limit = parse_shard_size(shard_size)
        if self.unit == "bytes":
            self.BATCH_ROWS = 256
        self.prefix = prefix
        self._parts: list[tuple[Path, int]] = []
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self._sink = None
        self._rows = 0
        self._bytes = 0
        self.rows = 0
        self._buffer: list[pa.Table] = []

    def _open(self) -> None:
        part = self.directory / f"{self.prefix}part-{len(self._parts):05d}.arrow.tmp"
        self._sink = pa.OSFile(str(part), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)
        self._parts.append((part, 0))
        self._rows = self._bytes = 0

    def _close_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            path, _ = self._parts[-1]
            self._parts[-1] = (path, self._rows)
            self._writer = None

    def write_table(self, table: pa.Table) -> None:
        """Buffer rows; emit IPC batches of a fixed row count so bytes never depend on
        how the caller batched its tables (worker count, reader block size)."""
        if table.num_rows == 0:
            return
        if table.schema != self.schema:
            table = table.cast(self.schema)
        self._buffer.append(table)
        self._drain(final=False)

    def _drain(self, final: bool) -> None:
        if not self._buffer:
            return
        buf = pa.concat_tables(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        offset = 0
        while True:
            remaining = buf.num_rows - offset
            if remaining <= 0 or (remaining < self.BATCH_ROWS and not final):
                break
            if self._writer is None:
                self._open()
            n = min(self.BATCH_ROWS, remaining)
            if self.unit == "rows":
                n = min(n, self.limit - self._rows)
            # take() makes compact buffers; a zero-copy slice would write the whole parent's
            # string buffers, so bytes would depend on how the caller batched its tables
            piece = buf.slice(offset, n).take(pa.array(range(n)))
            for batch in piece.to_batches():
                self._writer.write_batch(batch)
            self._rows += n
            self._bytes += piece.nbytes
            self.rows += n
            offset += n
            full = self._rows >= self.limit if self.unit == "rows" else self._bytes >= self.limit
            if full:
                self._close_part()
        rest = buf.slice(offset)
        self._buffer = [rest] if rest.num_rows else []

    def close(self) -> list[dict]:
        """Finish: name shards data-0000k-of-0000N.arrow, write datasets metadata."""
        self._drain(final=True)
        self._close_part()
        if not self._parts:  # an empty dataset still gets one (empty) shard
            self._open()
            self._close_part()
        n = len(self._parts)
        shards = []
        for k, (part, rows) in enumerate(self._parts):
            final = self.directory / f"data-{k:05d}-of-{n:05d}.arrow"
            os.replace(part, final)
            shards.append({"file": final.name, "rows": rows, "bytes": final.stat().st_size, "sha256": sha256_file(final)})
        self._write_datasets_metadata(shards)
        return shards

    def _write_datasets_metadata(self, shards: list[dict]) -> None:
        info = {"citation": "", "description": "", "features": features_dict(self.schema), "homepage": "", "license": ""}
        (self.directory / "dataset_info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        fingerprint = hashlib.sha256("".join(s["sha256"] for s in shards).encode()).hexdigest()[:16]
        state = {
            "_data_files": [{"filename": s["file"]} for s in shards],
            "_fingerprint": fingerprint,
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": None,
        }
        (self.directory / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def check_output_is_not_input(target: Path, inputs: list[str]) -> None:
    t = target.resolve()
    for p in inputs:
        if Path(p).exists() and Path(p).resolve() == t:
            raise InputError("output directory is also an input", file=str(target))
