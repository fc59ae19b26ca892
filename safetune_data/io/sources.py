"""Input sources: resolve what the user named and stream its rows in bounded batches.

Every row comes with its location (1-based line for line-oriented files, 0-based row
index always), so that problems can name file, line/row and field. JSON arrays are the
one kind read whole (JSON has no streaming boundary); everything else is streamed.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from ..errors import InputError

BATCH_ROWS = 8192
FILE_KINDS = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".csv", ".csv.gz", ".parquet", ".arrow")


@dataclass
class Located:
    """One input row and where it came from."""

    index: int  # 0-based row index within its source
    line: int | None  # 1-based physical line, when the file is line-oriented
    row: dict | None
    problem: str | None = None  # set when the row could not even be parsed
    field: str | None = None
    raw: bytes | None = None  # the physical line as read (line-oriented files), kept for rejects.jsonl
    position: int | None = None  # byte offset of a decoding problem within the line

    def raw_text(self) -> str | None:
        return None if self.raw is None else self.raw.decode("utf-8", errors="replace").rstrip("\r\n")


@dataclass
class Source:
    path: str  # as the user named it
    kind: str  # file suffix kind, "dir" or "hub"
    stem: str  # id prefix

    @property
    def name(self) -> str:
        return self.path if self.kind == "hub" else Path(self.path).name

    def sha256(self) -> str | None:
        if self.kind == "hub":
            return None
        h = hashlib.sha256()
        files = [Path(self.path)] if self.kind != "dir" else sorted(p for p in Path(self.path).rglob("*") if p.is_file())
        for f in files:
            if self.kind == "dir":
                h.update(str(f.relative_to(self.path)).encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
        return h.hexdigest()


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    for k in sorted(FILE_KINDS, key=len, reverse=True):
        if name.endswith(k):
            return k
    return None


def resolve(paths: list[str]) -> list[Source]:
    """Turn user arguments into sources with unique id stems."""
    if not paths:
        raise InputError("no input given")
    sources: list[Source] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            if not ((path / "state.json").exists() or (path / "dataset_info.json").exists()):
                hint = None
                if (path / "index.json").exists():
                    names = sorted(q.name for q in path.iterdir() if (q / "state.json").exists())
                    hint = "this is a `safetune run` directory; name one variant, e.g. " + str(path / names[0]) if names else None
                raise InputError("directory is not a datasets.save_to_disk output (no state.json)", file=p, hint=hint)
            kind = "dir"
            stem = path.name
        elif path.exists():
            kind = _kind(path)
            if kind is None:
                raise InputError(
                    f"unknown file kind '{path.suffix or path.name}'",
                    file=p,
                    hint=f"supported: {', '.join(FILE_KINDS)}, a save_to_disk directory, or a Hub dataset id",
                )
            stem = path.name[: -len(kind)]
        elif re.fullmatch(r"[\w.-]+/[\w.-]+", p) and not p.startswith((".", "/")):
            kind, stem = "hub", p.replace("/", "__")
        else:
            raise InputError("no such file or directory", file=p)
        sources.append(Source(p, kind, stem or "data"))
    seen: dict[str, int] = {}
    for s in sources:
        n = seen.get(s.stem, 0)
        seen[s.stem] = n + 1
        if n:
            s.stem = f"{s.stem}_{n}"
    return sources


def _open_binary(path: str) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _iter_jsonl(src: Source) -> Iterator[Located]:
    index = 0
    with _open_binary(src.path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Located(index, lineno, None, f"invalid UTF-8: at byte {exc.start} of the line", raw=raw, position=exc.start)
                index += 1
                continue
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield Located(index, lineno, None, f"malformed JSON: {exc}", raw=raw)
                index += 1
                continue
            if not isinstance(row, dict):
                yield Located(index, lineno, None, f"expected a JSON object, got {type(row).__name__}", raw=raw)
            else:
                yield Located(index, lineno, row, raw=raw)
            index += 1


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _iter_json(src: Source) -> Iterator[Located]:
    with _open_binary(src.path) as fh:
        data = fh.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"invalid UTF-8 at byte {exc.start}", file=src.path, line=_line_of(data, exc.start)) from None
    if not data.strip():
        raise InputError("file is empty", file=src.path)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # A JSON file that is really JSON Lines is common: read it as such.
        if data.lstrip().startswith(b"{") and b"\n" in data.strip():
            yield from _iter_jsonl(src)
            return
        raise InputError(f"malformed JSON: {exc.msg}", file=src.path, line=exc.lineno) from None
    if isinstance(doc, dict):
        arrays = [k for k, v in doc.items() if isinstance(v, list)]
        key = arrays[0] if len(arrays) == 1 else next((k for k in ("data", "train") if isinstance(doc.get(k), list)), None)
        doc = [doc] if key is None else doc[key]
    if not isinstance(doc, list):
        raise InputError("expected a JSON array of objects (or an object of arrays)", file=src.path)
    for i, row in enumerate(doc):
        if isinstance(row, dict):
            yield Located(i, None, row)
        else:
            yield Located(i, None, None, f"expected a JSON object, got {type(row).__name__}")


def _iter_csv(src: Source) -> Iterator[Located]:
    # utf-8-sig: spreadsheet exports start with a byte-order mark that would stick to the first column's name
    with io.TextIOWrapper(_open_binary(src.path), encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-8 ({exc.reason})", file=src.path, line=1) from None
        index = 0
        while True:
            line = reader.line_num + 1  # where the row starts (quoted values may span lines)
            try:
                values = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise InputError(f"invalid UTF-8 ({exc.reason})", file=src.path, line=reader.line_num + 1) from None
            except csv.Error as exc:
                yield Located(index, line, None, f"malformed CSV: {exc}")
                index += 1
                continue
            if not values:
                continue
            if len(values) != len(header):
                missing = header[len(values)] if len(values) < len(header) else None
                yield Located(
                    index,
                    line,
                    None,
                    f"wrong number of values: row has {len(values)} values but the header has {len(header)} columns",
                    missing,
                    raw=",".join(values).encode("utf-8"),
                )
            else:
                yield Located(index, line, dict(zip(header, values)))
            index += 1


def _iter_arrow_batches(src: Source):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if src.kind == ".parquet":
        yield from pq.ParquetFile(src.path).iter_batches(batch_size=BATCH_ROWS)
    elif src.kind == ".arrow":
        with pa.memory_map(src.path) as mm:
            try:
                yield from pa.ipc.open_stream(mm)
            except pa.ArrowInvalid:  # the IPC file format rather than the stream format
                mm.seek(0)
                rf = pa.ipc.open_file(mm)
                yield from (rf.get_batch(i) for i in range(rf.num_record_batches))
    elif src.kind == "dir":
        import datasets

        ds = datasets.load_from_disk(src.path)
        if isinstance(ds, datasets.DatasetDict):
            raise InputError(f"directory holds several splits ({', '.join(ds)}); name one split's directory", file=src.path)
        yield from ds.data.to_batches(max_chunksize=BATCH_ROWS)
    elif src.kind == "hub":
        yield from load_hub(src.path).data.to_batches(max_chunksize=BATCH_ROWS)


def hub_offline(also: str | None = None) -> bool:
    """HF_HUB_OFFLINE (else TRANSFORMERS_OFFLINE) is set, now or when huggingface_hub was
    imported; `also` names one more variable meaning offline for this use (HF_DATASETS_OFFLINE
    for datasets). The one test behind every "the Hub is offline" refusal."""
    values = [os.environ.get("HF_HUB_OFFLINE", os.environ.get("TRANSFORMERS_OFFLINE", "")), os.environ.get(also or "", "")]
    if any(v.strip().lower() in {"1", "on", "yes", "true"} for v in values):
        return True
    try:
        from huggingface_hub import constants
    except ModuleNotFoundError:  # pragma: no cover - a datasets dependency
        return False
    return bool(constants.HF_HUB_OFFLINE)


def load_hub(dataset_id: str, split: str = "train"):
    """One split of a Hub dataset; refused at once offline rather than after retries. The one
    Hub loader behind `convert`, benchmarks and preference pairs."""
    if hub_offline(also="HF_DATASETS_OFFLINE"):
        raise InputError("is a Hub dataset id, but the Hub is offline (HF_HUB_OFFLINE is set)", file=dataset_id,
                         hint="download the dataset once while online and pass a local file")
    import datasets

    try:
        return datasets.load_dataset(dataset_id, split=split)
    except Exception as exc:  # network, unknown id, missing split: the user can fix all of them
        raise InputError(f"could not load Hub dataset (split '{split}'): {exc}", file=dataset_id) from None


def iter_rows(src: Source) -> Iterator[Located]:
    """All rows of a source, in order, each with its location."""
    if src.kind in (".jsonl", ".jsonl.gz"):
        yield from _iter_jsonl(src)
    elif src.kind in (".json", ".json.gz"):
        yield from _iter_json(src)
    elif src.kind in (".csv", ".csv.gz"):
        yield from _iter_csv(src)
    else:
        try:
            rows = (row for batch in _iter_arrow_batches(src) for row in batch.to_pylist())
            for index, row in enumerate(rows):
                yield Located(index, None, row)
        except InputError:
            raise
        except Exception as exc:  # pyarrow errors on corrupt files
            raise InputError(f"cannot read: {exc}", file=src.path) from None


def batched(it: Iterator[Located], size: int = BATCH_ROWS) -> Iterator[list[Located]]:
    while batch := list(itertools.islice(it, size)):
        yield batch


def read_rows(path: str | Path) -> Iterator[Located]:
    """The rows of one file (JSON, JSONL, CSV, gzipped or not, parquet, arrow), stopping at
    the first unreadable row with an InputError naming file, line (or row) and field.

    The one row reader: `convert` counts or rejects bad rows itself; benchmarks, judge files
    and preference pairs read through here, so a malformed row reads the same everywhere."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    kind = _kind(path)
    if kind is None:
        raise InputError(f"unknown file kind '{path.suffix or path.name}'", file=str(path),
                         hint=f"supported: {', '.join(FILE_KINDS)}")
    for loc in iter_rows(Source(str(path), kind, path.name)):
        if loc.row is None:
            raise InputError(loc.problem or "unreadable row", file=str(path), line=loc.line,
                             row=None if loc.line is not None else loc.index, field=loc.field)
        yield loc


def read_csv_lines(path: str | Path) -> list[list[str]]:
    """Non-empty rows of a CSV without a header (AdvBench, HEx-PHI: one prompt per line, quoted
    prompts may hold commas): not a table, so not `read_rows`; gzipped too. Lines are decoded
    one at a time so that an undecodable byte is reported on its own line."""
    def lines(fh: io.BufferedIOBase) -> Iterator[str]:
        for number, raw in enumerate(fh, 1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"invalid UTF-8 ({exc.reason})", file=str(path), line=number) from None

    with _open_binary(str(path)) as fh:
        reader = csv.reader(lines(fh))
        try:
            return [r for r in reader if r and r[0].strip()]
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", file=str(path), line=reader.line_num) from None


def read_json(path: str | Path) -> Any:
    """One JSON document (a manifest, results.json), malformed JSON reported as rows are; the
    standard library's parser, which reads the NaN that `json.dumps` writes."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
