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
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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
        if len(arrays) == 1:
            doc = doc[arrays[0]]
        elif "data" in doc and isinstance(doc["data"], list):
            doc = doc["data"]
        elif "train" in doc and isinstance(doc["train"], list):
            doc = doc["train"]
        else:
            doc = [doc]
    if not isinstance(doc, list):
        raise InputError("expected a JSON array of objects (or an object of arrays)", file=src.path)
    for i, row in enumerate(doc):
        if isinstance(row, dict):
            yield Located(i, None, row)
        else:
            yield Located(i, None, None, f"expected a JSON object, got {type(row).__name__}")


def _iter_csv(src: Source) -> Iterator[Located]:
    opener = (lambda: io.TextIOWrapper(gzip.open(src.path, "rb"), encoding="utf-8", newline="")) if src.path.endswith(".gz") else (
        lambda: open(src.path, encoding="utf-8", newline="")
    )
    with opener() as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-8 ({exc.reason})", file=src.path, line=1) from None
        index = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise InputError(f"invalid UTF-8 ({exc.reason})", file=src.path, line=reader.line_num + 1) from None
            except csv.Error as exc:
                yield Located(index, reader.line_num, None, f"malformed CSV: {exc}")
                index += 1
                continue
            if not values:
                continue
            if len(values) != len(header):
                missing = header[len(values)] if len(values) < len(header) else None
                yield Located(
                    index,
                    reader.line_num,
                    None,
                    f"wrong number of values: row has {len(values)} values but the header has {len(header)} columns",
                    missing,
                    raw=",".join(values).encode("utf-8"),
                )
            else:
                yield Located(index, reader.line_num, dict(zip(header, values)))
            index += 1


def _iter_arrow_batches(src: Source):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if src.kind == ".parquet":
        pf = pq.ParquetFile(src.path)
        yield from pf.iter_batches(batch_size=BATCH_ROWS)
    elif src.kind == ".arrow":
        with pa.memory_map(src.path) as mm:
            try:
                reader = pa.ipc.open_stream(mm)
                yield from reader
            except pa.ArrowInvalid:
                mm.seek(0)
                rf = pa.ipc.open_file(mm)
                for i in range(rf.num_record_batches):
                    yield rf.get_batch(i)
    elif src.kind == "dir":
        import datasets

        ds = datasets.load_from_disk(src.path)
        if isinstance(ds, datasets.DatasetDict):
            raise InputError(f"directory holds several splits ({', '.join(ds)}); name one split's directory", file=src.path)
        yield from ds.data.to_batches(max_chunksize=BATCH_ROWS)
    elif src.kind == "hub":
        if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
            raise InputError("is a Hub dataset id, but the Hub is offline (HF_HUB_OFFLINE=1)", file=src.path)
        import datasets

        try:
            ds = datasets.load_dataset(src.path, split="train")
        except Exception as exc:  # network, missing dataset
            raise InputError(f"could not load Hub dataset: {exc}", file=src.path) from None
        yield from ds.data.to_batches(max_chunksize=BATCH_ROWS)


def iter_rows(src: Source) -> Iterator[Located]:
    """All rows of a source, in order, each with its location."""
    if src.kind in (".jsonl", ".jsonl.gz"):
        yield from _iter_jsonl(src)
    elif src.kind in (".json", ".json.gz"):
        yield from _iter_json(src)
    elif src.kind in (".csv", ".csv.gz"):
        yield from _iter_csv(src)
    else:
        index = 0
        try:
            for batch in _iter_arrow_batches(src):
                for row in batch.to_pylist():
                    yield Located(index, None, row)
                    index += 1
        except InputError:
            raise
        except Exception as exc:  # pyarrow errors on corrupt files
            raise InputError(f"cannot read: {exc}", file=src.path) from None


def batched(it: Iterator[Located], size: int = BATCH_ROWS) -> Iterator[list[Located]]:
    batch: list[Located] = []
    for item in it:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
