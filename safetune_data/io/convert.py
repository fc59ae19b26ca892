"""Sources → canonical record tables, with per-row checks and reason-coded rejects.

`RecordStream` decides each source's format (explicit, or detected from its first row),
fixes the Arrow schema (carried-over columns of every source's first batch become string
fields of `meta`), then yields bounded tables of records. In `fail` mode the first bad row
raises an `InputError` naming file, line/row and field; in `skip` mode it is counted by
reason and kept for `rejects.jsonl`.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

import pyarrow as pa

from ..errors import ConfigError, InputError
from ..records import check_conversation, make_id, meta_value, record_schema
from .formats import (
    NORMALISERS,
    RowProblem,
    consumed_columns,
    detect_format,
    rename_columns,
    validate_mapping,
)
from .sources import BATCH_ROWS, Located, Source, batched, iter_rows

BASE_META = ("source", "source_index", "format", "transforms")

RECORD_COLUMNS = ("id", "messages", "meta")


def _record_extras(row: dict) -> list[str]:
    """Fields a record carries beyond the base meta: its own meta fields, then the columns
    beside id/messages/meta (a `reward` or `risk_*` score added by `rm score` or `risk`),
    which land in meta so that a recipe's select steps can read them."""
    return [*(row.get("meta") or {}), *(k for k in row if k not in RECORD_COLUMNS)]


@dataclass
class SourcePlan:
    source: Source
    format: str
    mapping: dict[str, str]
    batches: Iterator[list[Located]]
    extra: list[str]
    rows: int = 0
    rejected: int = 0
    unmapped: Counter = field(default_factory=Counter)


class RecordStream:
    """Read sources into record tables. Iterate `tables()` once; then read the stats."""

    def __init__(
        self,
        sources: list[Source],
        format: str | None = None,
        mapping: dict[str, str] | None = None,
        on_error: str = "fail",
        batch_rows: int = BATCH_ROWS,
        fast: bool = True,
    ) -> None:
        if format is not None:
            NORMALISERS.get(format)  # an unknown name fails here, with "did you mean"
        if on_error not in ("fail", "skip"):
            raise ConfigError(f"--on-error must be fail or skip, not {on_error!r}", field="on-error")
        self.sources = sources
        self.format = "mapped" if (mapping and format is None and _is_flat_mapping(mapping)) else format
        self.mapping = dict(mapping or {})
        self.on_error = on_error
        self.batch_rows = batch_rows
        self.fast = fast  # columnar path for flat layouts; False forces the row-by-row path
        self.dropped: Counter = Counter()
        self.rejects: list[dict[str, Any]] = []
        self.plans = [self._plan(s) for s in sources]
        self.extra = list(dict.fromkeys(e for p in self.plans for e in p.extra))
        self.schema = record_schema(self.extra)

    # -- planning ------------------------------------------------------------------
    def _plan(self, src: Source) -> SourcePlan:
        batches = batched(iter_rows(src), self.batch_rows)
        first = next(batches, None)
        if first is None:
            raise InputError("file is empty (no rows)", file=src.path)
        fmt = self.format
        if fmt is None:
            sample = next((loc.row for loc in first if loc.row is not None), None)
            if sample is None:
                bad = first[0]
                raise InputError(bad.problem or "no readable row", file=src.path, line=bad.line, row=None if bad.line else bad.index)
            fmt = detect_format(sample.keys())
            if fmt is None:
                raise InputError(
                    f"cannot detect the format from columns {sorted(sample.keys())}",
                    file=src.path,
                    hint="pass --format (alpaca, sharegpt, messages, prompt-completion) or a column mapping, "
                    "e.g. --map user=instruction --map assistant=response",
                )
        validate_mapping(fmt, self.mapping)
        consumed = consumed_columns(fmt, self.mapping)
        renames = rename_columns(fmt, self.mapping)
        # carried-over fields: a record's own meta fields, else the columns the format does not consume
        carried = ((_record_extras(loc.row) if fmt == "records" else (k for k in loc.row if k not in consumed and k not in renames))
                   for loc in first if loc.row is not None)
        extra = list(dict.fromkeys(k for keys in carried for k in keys if k not in BASE_META))
        return SourcePlan(src, fmt, self.mapping, itertools.chain([first], batches), extra)

    # -- rows ----------------------------------------------------------------------
    def _reject(self, plan: SourcePlan, loc: Located, reason: str, message: str, fld: str | None) -> None:
        if self.on_error == "fail":
            raise InputError(
                message,
                file=plan.source.path,
                line=loc.line,
                row=None if loc.line is not None else loc.index,
                field=fld,
            )
        plan.rejected += 1
        self.dropped[reason] += 1
        entry: dict[str, Any] = {
            "file": plan.source.path, "line": loc.line, "row": loc.index, "field": fld, "reason": reason, "message": message,
        }
        if loc.position is not None:
            entry["byte"] = loc.position
        # the rejected input itself, so it can be fixed and re-read: the line as written, else the parsed row
        entry["raw"] = loc.raw_text() if loc.raw is not None else loc.row
        self.rejects.append(entry)

    def _record(self, plan: SourcePlan, loc: Located) -> dict | None:
        if loc.row is None:
            message = loc.problem or "unreadable row"
            self._reject(plan, loc, message.split(":")[0], message, loc.field)
            return None
        row = loc.row
        renames = rename_columns(plan.format, plan.mapping)
        if renames:
            row = {renames.get(k, k): v for k, v in row.items()}
        if plan.format != "mapped":
            seen_fmt = detect_format(row.keys())
            if seen_fmt is not None and seen_fmt != plan.format and not (plan.format == "messages" and seen_fmt == "records"):
                self._reject(
                    plan, loc, "row of another format",
                    f"row looks like {seen_fmt} but the file's format is {plan.format} (rows of two formats in one file)", None,
                )
                return None
        try:
            messages = NORMALISERS[plan.format](row, plan.mapping)
        except RowProblem as p:
            self._reject(plan, loc, f"field '{p.field}': {p.message}" if p.field else p.message, p.message, p.field)
            return None
        problem = check_conversation(messages)
        if problem is None and any(m["role"] == "assistant" and not m["content"].strip() for m in messages):
            problem = "assistant turn is empty"
        if problem:
            reason = problem.split(":")[0] if problem.startswith("roles out of order") else problem
            self._reject(plan, loc, reason, problem, "messages" if plan.format in ("messages", "records") else _answer_field(plan))
            return None
        if plan.format == "records":
            meta_in = dict(row.get("meta") or {})
            rid = row.get("id") or make_id(plan.source.stem, loc.index)
            meta = {k: meta_in.get(k) for k in BASE_META}
            meta["transforms"] = list(meta.get("transforms") or [])
            if meta["source"] is None:
                meta["source"], meta["source_index"], meta["format"] = plan.source.name, loc.index, "records"
            carried = {k: v for k, v in meta_in.items() if k not in BASE_META}
            carried.update({k: v for k, v in row.items() if k not in RECORD_COLUMNS})  # e.g. `rm score`'s reward
        else:
            rid = make_id(plan.source.stem, loc.index)
            meta = {"source": plan.source.name, "source_index": loc.index, "format": plan.format, "transforms": []}
            consumed = consumed_columns(plan.format, plan.mapping)
            carried = {k: v for k, v in row.items() if k not in consumed}
            if plan.format == "mapped" and "id" in plan.mapping and row.get(plan.mapping["id"]) is not None:
                rid = str(row[plan.mapping["id"]])
        for k, v in carried.items():
            if k in self.extra:
                meta[k] = meta_value(v)
            elif v is not None:
                plan.unmapped[k] += 1
        return {"id": rid, "messages": messages, "meta": meta}

    def tables(self) -> Iterator[pa.Table]:
        for plan in self.plans:
            resume = 0
            if self.fast:
                from .fast import Stop, fast_tables  # local: pyarrow.compute adds ~70 ms to `safetune --help`

                consumed = consumed_columns(plan.format, plan.mapping)
                try:
                    for table in fast_tables(plan.source, plan.format, plan.mapping, self.schema, self.extra, consumed, plan.unmapped):
                        plan.rows += table.num_rows
                        yield table
                    continue
                except Stop as stop:
                    resume = stop.index
                    if resume:  # the peeked first batch is stale: read again from the start
                        plan.batches = batched(iter_rows(plan.source), self.batch_rows)
            for batch in plan.batches:
                records = [r for r in (self._record(plan, loc) for loc in batch if loc.index >= resume) if r is not None]
                plan.rows += len(records)
                if records:
                    yield pa.Table.from_pylist(records, schema=self.schema)

    def input_stats(self) -> list[dict[str, Any]]:
        out = []
        for p in self.plans:
            entry: dict[str, Any] = {
                "path": p.source.path,
                "kind": p.source.kind,
                "format": p.format,
                "rows": p.rows,
                "id_prefix": p.source.stem,
            }
            if p.mapping:
                entry["mapping"] = dict(p.mapping)
            if p.unmapped:
                entry["unmapped_fields"] = dict(p.unmapped)
            out.append(entry)
        return out


def _answer_field(plan: SourcePlan) -> str:
    return {"alpaca": "output", "prompt-completion": "completion", "sharegpt": "conversations"}.get(
        plan.format, plan.mapping.get("assistant", "assistant")
    )


def _is_flat_mapping(mapping: dict[str, str]) -> bool:
    return "user" in mapping or "assistant" in mapping
