"""The library entry points: convert files to an output dir, read anything as a Dataset,
write a Dataset of records as an output dir."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa

from .. import __version__  # set first in the package root, before it imports this module
from ..errors import InputError
from ..records import record_schema
from .atomic import write_jsonl_atomic
from .convert import BASE_META, RecordStream
from .manifest import now, safe_command, versions, write_manifest
from .provenance import provenance
from .sources import resolve
from .tempdirs import keep_until_exit, make_scratch
from .writer import DEFAULT_SHARD_SIZE, OutputDir, ShardWriter, check_output_is_not_input

ProgressFn = Callable[[int], None]
CardWriter = Callable[[Path], object]  # `card.write_card`, passed in: the shard writer does not depend on cards


def dataset_table(ds) -> pa.Table:
    """The Arrow table of a `datasets.Dataset`, its indices mapping (select/shuffle) applied.

    `flatten_indices` draws its own progress bar; ours already covers the step, and in logs
    each of those bars is a line of noise per dataset step, so it is silenced here."""
    if getattr(ds, "_indices", None) is None:
        return ds.data.table
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        return ds.flatten_indices().data.table
    finally:
        if not was_disabled:
            enable_progress_bars()


def is_output_dir(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "state.json").exists()


def base_manifest(command: list[str] | None) -> dict[str, Any]:
    return {
        "safetune_version": __version__,
        "created": now(),
        "command": safe_command(command if command is not None else ["python", *sys.argv]),
        "versions": versions(),
    }


def save_derived(ds: Any, directory: Path, *, source: str | Path, command: Iterable[str] = (),
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write `ds`, a copy of the records in `source` with columns added (`rm score`, `risk`),
    into `directory` (an OutputDir not yet committed) with a manifest that keeps the parent's
    variant, factors and manifest; `extra` is merged into the manifest (the added columns' story)."""
    from .manifest import read_manifest
    from .writer import sha256_file

    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()  # our own progress covers the step; in logs its bar is noise
    try:
        ds.save_to_disk(str(directory))
    finally:
        if not was_disabled:
            enable_progress_bars()
    shards = []
    for p in sorted(directory.glob("data-*.arrow")):
        with pa.memory_map(str(p)) as src:
            rows = pa.ipc.open_stream(src).read_all().num_rows
        shards.append({"file": p.name, "rows": rows, "bytes": p.stat().st_size, "sha256": sha256_file(p)})
    parent = read_manifest(source)
    manifest = {
        "safetune_version": versions().get("safetune-data", "unknown"),
        "created": now(),
        "command": safe_command(list(command)),
        "inputs": [{"path": str(source), "rows": len(ds), "format": "arrow", "kind": "records"}],
        "variant": (parent or {}).get("variant"),
        "factors": (parent or {}).get("factors"),
        "output": {"rows": len(ds), "shards": shards},
        "dropped": {},
        "versions": versions(),
        **(extra or {}),
        "parent_manifest": parent,
    }
    write_manifest(directory, manifest)
    return manifest


def finish_output(
    directory: Path,
    writer: ShardWriter,
    manifest: dict[str, Any],
    *,
    shard_size: str | int,
    rejects: list[dict] | None = None,
    card: CardWriter | None = None,
) -> dict[str, Any]:
    """Close shards, write rejects, manifest and card into the temp dir (not yet committed)."""
    shards = writer.close()
    manifest["output"] = {"rows": writer.rows, "shards": shards, "shard_size": shard_size}
    manifest["rejects_file"] = None
    if rejects:
        write_jsonl_atomic(directory / "rejects.jsonl", rejects)
        manifest["rejects_file"] = "rejects.jsonl"
    write_manifest(directory, manifest)
    if card is not None:
        card(directory)
    return manifest


def convert(
    inputs: str | list[str],
    out: str | Path,
    *,
    format: str | None = None,
    mapping: dict[str, str] | None = None,
    shard_size: str | int = DEFAULT_SHARD_SIZE,
    on_error: str = "fail",
    overwrite: bool = False,
    command: list[str] | None = None,
    on_rows: ProgressFn | None = None,
    card: CardWriter | None = None,
) -> dict[str, Any]:
    """Read inputs into canonical records and write `out` (shards + manifest, and the card
    that `card` writes into the directory).

    Returns the manifest. Raises `InputError` (nothing written) on bad input in `fail` mode.
    """
    paths = [str(p) for p in ([inputs] if isinstance(inputs, (str, Path)) else inputs)]
    sources = resolve(paths)
    check_output_is_not_input(Path(out), paths)
    stream = RecordStream(sources, format=format, mapping=mapping, on_error=on_error)
    from concurrent.futures import ThreadPoolExecutor

    hasher = ThreadPoolExecutor(max_workers=1)  # sha256 releases the GIL: hash while parsing
    digests = [hasher.submit(src.sha256) for src in sources]
    with hasher, OutputDir(out, overwrite=overwrite) as od:
        writer = ShardWriter(od.path, stream.schema, shard_size)
        for table in stream.tables():
            writer.write_table(table)
            if on_rows:
                on_rows(table.num_rows)
        manifest = base_manifest(command)
        inputs_meta = stream.input_stats()
        for entry, digest in zip(inputs_meta, digests):
            entry["sha256"] = digest.result()
        manifest.update(inputs=inputs_meta, seed=None, steps=[], dropped=dict(sorted(stream.dropped.items())))
        if sum(p.rows for p in stream.plans) == 0:
            raise InputError("no rows left to write (every row was rejected)", file=", ".join(paths))
        manifest = finish_output(od.path, writer, manifest, shard_size=shard_size, rejects=stream.rejects, card=card)
        od.commit()
    return manifest


def read(
    paths: str | Path | list[str | Path],
    format: str | None = None,
    mapping: dict[str, str] | None = None,
    on_error: str = "fail",
):
    """Read any supported input (or an output dir) as a `datasets.Dataset` of records.

    Output dirs are memory-mapped as they are; other inputs are converted into a temporary
    directory first, so memory does not grow with the input size.
    """
    import datasets

    items = [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if len(items) == 1 and is_output_dir(items[0]) and format is None and not mapping:
        ds = datasets.load_from_disk(items[0])
        if {"id", "messages", "meta"} <= set(ds.column_names):
            return ds
    tmp_root = make_scratch("read")
    tmp = tmp_root / "records"
    try:
        convert(items, tmp, format=format, mapping=mapping, on_error=on_error, command=["safetune_data.read"])
        ds = datasets.load_from_disk(str(tmp))
    except BaseException:
        shutil.rmtree(tmp_root, ignore_errors=True)
        raise
    # The directory stays until the process exits (then `tempdirs.remove_kept` removes it):
    # datasets derived from this one (select, map) keep reading and writing cache files
    # beside these shards. One left by a killed process is swept by the next `read`.
    keep_until_exit(tmp_root)
    return ds


def write(
    ds: Any,
    out: str | Path,
    *,
    shard_size: str | int = DEFAULT_SHARD_SIZE,
    overwrite: bool = False,
    manifest_extra: dict[str, Any] | None = None,
    card: CardWriter | None = None,
) -> dict[str, Any]:
    """Write a `datasets.Dataset` (or list of records, or Arrow table) of records as an output dir.

    A Dataset returned by `Pipeline.run` (or derived from one with map, filter, select, ...)
    carries that run's seed and per-step stats; the manifest records them as `seed` and `steps`.
    """
    table = as_table(ds)
    prov = provenance(ds) or {"seed": None, "steps": []}
    with OutputDir(out, overwrite=overwrite) as od:
        writer = ShardWriter(od.path, table.schema, shard_size)
        for batch in table.to_batches(max_chunksize=8192):
            writer.write_table(pa.Table.from_batches([batch], schema=table.schema))
        manifest = base_manifest(None)
        manifest.update(inputs=[], seed=prov["seed"], steps=prov["steps"], dropped={})
        manifest.update(manifest_extra or {})
        manifest = finish_output(od.path, writer, manifest, shard_size=shard_size, card=card)
        od.commit()
    return manifest


def as_table(ds: Any) -> pa.Table:
    if isinstance(ds, pa.Table):
        return ds
    if isinstance(ds, list):
        extra = dict.fromkeys(k for r in ds for k in (r.get("meta") or {}) if k not in BASE_META)
        return pa.Table.from_pylist(ds, schema=record_schema(list(extra)))
    if getattr(ds, "data", None) is not None:  # datasets.Dataset: honour indices mapping (select/shuffle)
        return dataset_table(ds)
    raise TypeError(f"cannot write {type(ds).__name__}; pass a datasets.Dataset, a list of records or a pyarrow.Table")


def iter_records(path: str | Path, batch_size: int = 4096) -> Iterable[dict]:
    """Rows of an output dir as dicts, streamed."""
    import datasets

    ds = datasets.load_from_disk(str(path))
    for batch in ds.data.to_batches(max_chunksize=batch_size):
        yield from batch.to_pylist()


