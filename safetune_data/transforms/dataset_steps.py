"""Dataset-level steps: mix in other rows, sample, deduplicate.

Each sees the whole table. Choices are seeded per record id (never by position), and the
output keeps input order, so results do not depend on how the input was sharded.
"""
from __future__ import annotations

import hashlib
import re
import types
from typing import Any

import pyarrow as pa

from ..errors import ConfigError
from ..io.api import read
from ..records import record_schema, extra_meta_fields
from ..registry import schema
from .base import DatasetStep, fraction_for, register


def requested_rows(params: dict, total: int, what: str) -> int:
    """Rows a step asks for: its `count`, or its `what` fraction/ratio of `total` (rounded)."""
    count, frac = params.get("count"), params.get(what)
    if (count is None) == (frac is None):
        raise ConfigError(f"give exactly one of 'count' or '{what}'", field="count")
    return int(count) if count is not None else int(round(frac * total))


def _conform(rows: list[dict], arrow_schema: pa.Schema) -> pa.Table:
    """Rows from another source, fitted to this table's meta fields."""
    meta_type = arrow_schema.field("meta").type
    names = [meta_type.field(i).name for i in range(meta_type.num_fields)]
    for r in rows:
        meta = r.get("meta") or {}
        r["meta"] = {k: meta.get(k) for k in names}
        r["meta"]["transforms"] = list(r["meta"].get("transforms") or [])
    return pa.Table.from_pylist(rows, schema=arrow_schema)


@register
class MixAdd(DatasetStep):
    """Mix in rows from another dataset at a ratio or count (e.g. safety demonstrations)."""

    name = "mix.add"
    params_schema = schema(
        required=["path"],
        path={"type": "string", "description": "any input `convert` reads, or an output dir"},
        format={"type": ["string", "null"], "default": None},
        map={"type": "object", "additionalProperties": {"type": "string"}, "default": {}},
        count={"type": ["integer", "null"], "minimum": 0, "default": None},
        ratio={"type": ["number", "null"], "minimum": 0, "default": None, "description": "added rows per existing row"},
        id_prefix={"type": "string", "default": "mix-"},
        position={"enum": ["append", "shuffle"], "default": "append",
                  "description": "append after the rows, or order all rows by a seeded hash of their ids"},
    )

    def apply_dataset(self, ds: Any) -> Any:
        import datasets

        table = ds.data.table
        self.stats.seen = table.num_rows
        other = read(self.params["path"], format=self.params["format"], mapping=self.params["map"] or None)
        k = requested_rows(self.params, table.num_rows, "ratio")
        ids = other["id"]
        order = sorted(range(len(ids)), key=lambda i: fraction_for(self.seed, self.step, ids[i], "mix"))
        if k > len(order):
            self.stats.fired[f"requested {k}, only {len(order)} available"] += 1
            k = len(order)
        rows = other.select(sorted(order[:k])).to_list()
        for r in rows:
            r["id"] = self.params["id_prefix"] + r["id"]
            log = list((r.get("meta") or {}).get("transforms") or [])
            r.setdefault("meta", {})["transforms"] = log + [{"step": self.step, "op": self.name, "detail": f"mixed in from {self.params['path']}"}]
        existing = set(table.column("id").to_pylist())
        clash = next((r["id"] for r in rows if r["id"] in existing), None)
        if clash is not None:
            raise ConfigError(f"mixed-in id {clash!r} already exists; set a different id_prefix", field="id_prefix")
        arrow_schema = record_schema(extra_meta_fields(table.schema))
        added = _conform(rows, arrow_schema)
        out = pa.concat_tables([table.cast(arrow_schema) if table.schema != arrow_schema else table, added])
        if self.params["position"] == "shuffle":
            keys = [fraction_for(self.seed, self.step, i, "order") for i in out.column("id").to_pylist()]
            out = out.take(sorted(range(out.num_rows), key=keys.__getitem__))
        self.stats.added = added.num_rows
        self.stats.unchanged["kept"] += table.num_rows
        return datasets.Dataset(out)


@register
class Sample(DatasetStep):
    """Keep a seeded sample of rows (count or fraction), in input order."""

    name = "sample"
    params_schema = schema(
        count={"type": ["integer", "null"], "minimum": 0, "default": None},
        fraction={"type": ["number", "null"], "minimum": 0, "maximum": 1, "default": None},
        offset={"type": "integer", "minimum": 0, "default": 0,
                   "description": "skip this many rows of the seeded ranking first (disjoint slices of one input)"},
        stream={"type": ["string", "null"], "minLength": 1, "default": None,
                   "description": "rank by (seed, stream, id) instead of (seed, step index, id), so that recipes "
                                  "sharing seed and stream rank rows alike and `offset` carves disjoint samples"},
    )

    def apply_dataset(self, ds: Any) -> Any:
        ids = ds["id"]
        k = min(requested_rows(self.params, len(ids), "fraction"), len(ids))
        stream = self.params["stream"]
        step, salt = (0, f"sample:{stream}") if stream else (self.step, "sample")
        ranked = sorted(range(len(ids)), key=lambda i: (fraction_for(self.seed, step, ids[i], salt), ids[i]))
        offset = min(self.params["offset"], len(ids))
        keep = sorted(ranked[offset: offset + k])
        k = len(keep)
        self.stats.seen = len(ids)
        self.stats.unchanged["sampled"] += k
        if len(ids) - k:
            self.stats.dropped["not sampled"] += len(ids) - k
        return ds.select(keep)


_WS = re.compile(r"\s+")


def normalise(messages: list[dict]) -> str:
    """Text used for exact duplicate detection: roles + lower-cased, whitespace-collapsed turns."""
    return "\x1e".join(f"{m['role']}\x1f{_WS.sub(' ', m['content']).strip().lower()}" for m in messages)


@register
class Dedup(DatasetStep):
    """Drop duplicate conversations (exact on normalised text, or near-duplicates by MinHash); keeps the first."""

    name = "dedup"
    params_schema = schema(
        method={"enum": ["exact", "minhash"], "default": "exact"},
        threshold={"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.85, "description": "Jaccard similarity for minhash"},
        num_perm={"type": "integer", "minimum": 16, "default": 128},
        ngram={"type": "integer", "minimum": 1, "default": 5, "description": "word shingle size for minhash"},
        scope={"enum": ["conversation", "user"], "default": "conversation", "description": "compare whole conversations or user turns only"},
    )

    def _text(self, messages: list[dict]) -> str:
        if self.params["scope"] == "user":
            messages = [m for m in messages if m["role"] == "user"]
        return normalise(messages)

    def apply_dataset(self, ds: Any) -> Any:
        keep: list[int] = []
        n = ds.num_rows
        self.stats.seen = n
        if self.params["method"] == "exact":
            first: dict[bytes, int] = {}
            for i, msgs in enumerate(ds["messages"]):
                first.setdefault(hashlib.blake2b(self._text(msgs).encode(), digest_size=16).digest(), i)
            keep = list(first.values())
            if n - len(keep):
                self.stats.dropped["exact duplicate"] += n - len(keep)
        else:
            from datasketch import MinHash, MinHashLSH

            lsh = MinHashLSH(threshold=self.params["threshold"], num_perm=self.params["num_perm"])
            g = self.params["ngram"]
            for i, msgs in enumerate(ds["messages"]):
                words = self._text(msgs).split()
                shingles = {" ".join(words[j : j + g]) for j in range(max(1, len(words) - g + 1))}
                mh = MinHash(num_perm=self.params["num_perm"], seed=1)
                mh.update_batch([s.encode() for s in shingles])
                if lsh.query(mh):
                    self.stats.dropped["near duplicate"] += 1
                    continue
                lsh.insert(str(i), mh)
                keep.append(i)
        self.stats.unchanged["unique"] += len(keep)
        return ds.select(keep)


mix = types.SimpleNamespace(add=MixAdd)
sample = Sample
dedup = Dedup
