"""Per-turn and per-conversation detector columns, computed batch by batch.

The statistics are aggregated later in polars (`aggregate.py`); this module only turns a
record table into two narrow frames without the message text, so that a million rows fit
in memory:

* turns: one row per message -- conv, role, chars, tokens, and for assistant turns the
  structure class, the three identity kinds and refusal;
* convs: one row per conversation -- n_turns, has_system, role-play where, and a 64-bit
  hash of the normalised conversation for exact-duplicate counting.

Detectors are the shared ones (one per factor, owned elsewhere) and are imported lazily
in `load_detectors`, the single place that names them. They run once per *distinct* text:
within a batch via `unique()`, across batches via a bounded cache. Instruction data is
repetitive (templated answers, replicated samples), so this is where most time is saved;
throughput on fully distinct rows is lower and reported separately.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError, InputError, MissingExtraError

STRUCTURE_CLASSES = ("plain", "list", "headed", "code", "mixed")
IDENTITY_KINDS = ("ai_self_reference", "named_identity", "developer_attribution")
ROLEPLAY_WHERE = ("system", "user")
ROLES = ("system", "user", "assistant", "tool")

# Distinct texts remembered across batches; bounded so that distinct-heavy data does not
# grow memory without limit (the cache is then simply cleared and refilled).
CACHE_LIMIT = 200_000
DEFAULT_BATCH_ROWS = 20_000

TURN_SCHEMA = {
    "conv": pl.Int64,
    "role": pl.Utf8,
    "chars": pl.Int64,
    "tokens": pl.Int64,
    "structure": pl.Utf8,
    "id_ai_self_reference": pl.Boolean,
    "id_named_identity": pl.Boolean,
    "id_developer_attribution": pl.Boolean,
    "refusal": pl.Boolean,
}
CONV_SCHEMA = {
    "conv": pl.Int64,
    "n_turns": pl.Int64,
    "has_system": pl.Boolean,
    "rp_system": pl.Boolean,
    "rp_user": pl.Boolean,
    "dup_hash": pl.UInt64,
}


@dataclass(frozen=True)
class Detectors:
    """The four shared detectors, as plain callables (tests may pass their own)."""

    classify: Callable[[str], str]
    identity_kinds: Callable[[str], set[str]]
    roleplay_where: Callable[[dict], set[str]]
    is_refusal: Callable[..., bool]
    # Optional batch form of is_refusal (same results, one spaCy `pipe` per batch).
    refusal_many: Callable[[list[str], list[str | None]], list[bool]] | None = None


def load_detectors() -> Detectors:
    """Import the shared detectors; a missing one is named in a clear error."""
    funcs: dict[str, Any] = {}
    for module, attr in (
        ("structure", "classify"),
        ("identity", "identity_kinds"),
        ("roleplay", "roleplay_where"),
        ("refusal", "is_refusal"),
    ):
        full = f"safetune_data.detectors.{module}"
        try:
            mod = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
            raise ConfigError(
                f"the {module} detector ({full}) is not available in this installation",
                hint="reinstall safetune-data; the profile needs all four factor detectors",
            ) from None
        funcs[attr] = getattr(mod, attr)
        if module == "refusal" and hasattr(mod, "analyse_many"):
            many = mod.analyse_many
            funcs["refusal_many"] = lambda answers, prompts: [a.refused for a in many(answers, prompts)]
    return Detectors(**funcs)


class _BoundedCache(dict):
    """A dict that empties itself when full: simple, and order-independent in results."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put_many(self, items: Iterable[tuple[Any, Any]]) -> None:
        for key, value in items:
            if len(self) >= self.limit:
                self.clear()
            self[key] = value


@dataclass
class TokenCounter:
    """Token lengths from a local `transformers` tokenizer, loaded on first use."""

    name_or_path: str
    _tok: Any = None

    def load(self) -> Any:
        if self._tok is None:
            try:
                from transformers import AutoTokenizer
            except ImportError:  # pragma: no cover - transformers is a test dependency
                raise MissingExtraError("transformers", "harness") from None
            try:
                self._tok = AutoTokenizer.from_pretrained(self.name_or_path, trust_remote_code=False)
            except Exception as exc:  # noqa: BLE001 - any load failure is a user-fixable config problem
                raise ConfigError(
                    f"cannot load tokenizer '{self.name_or_path}': {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                    field="--tokenizer",
                    hint="pass a local directory with tokenizer files (no download at run time)",
                ) from None
        return self._tok

    def count(self, texts: list[str]) -> list[int]:
        return [len(x) for x in self.load()(texts, add_special_tokens=False)["input_ids"]] if texts else []


class TableDetector:
    """Runs the detectors over record batches and collects the narrow frames."""

    def __init__(self, detectors: Detectors, tokenizer: TokenCounter | None = None) -> None:
        self.det = detectors
        self.tokenizer = tokenizer
        self._answer_cache = _BoundedCache(CACHE_LIMIT)
        self._refusal_cache = _BoundedCache(CACHE_LIMIT)
        self._roleplay_cache = _BoundedCache(CACHE_LIMIT)
        self._token_cache = _BoundedCache(CACHE_LIMIT)
        self.turn_frames: list[pl.DataFrame] = []
        self.conv_frames: list[pl.DataFrame] = []
        self.rows = 0

    # -- per distinct text ---------------------------------------------------------------
    def _answer_facts(self, text: str) -> tuple:
        label = self.det.classify(text)
        if label not in STRUCTURE_CLASSES:
            raise ValueError(f"structure detector returned {label!r}, not one of {STRUCTURE_CLASSES}")
        kinds = self.det.identity_kinds(text)
        return (label, *(k in kinds for k in IDENTITY_KINDS))

    @staticmethod
    def _lookup(cache: _BoundedCache, keys: list, compute_many: Callable[[list], list]) -> list:
        """The values of distinct `keys`, computing (in one call) only those not cached."""
        missing = [k for k in keys if k not in cache]
        computed = dict(zip(missing, compute_many(missing))) if missing else {}
        out = [cache[k] if k in cache else computed[k] for k in keys]
        cache.put_many(computed.items())
        return out

    def _refusals(self, keys: list[tuple[str | None, str]]) -> list[bool]:
        """Refusal flags of (prompt, answer) pairs: one batch call when the detector has one."""
        answers, prompts = [k[1] for k in keys], [k[0] or None for k in keys]
        if self.det.refusal_many is not None:
            return [bool(f) for f in self.det.refusal_many(answers, prompts)]
        return [bool(self.det.is_refusal(a, p)) for a, p in zip(answers, prompts)]

    # -- per batch -------------------------------------------------------------------------
    def add(self, batch: pa.Table) -> None:
        """Detector columns for one batch of records.

        Message texts are dictionary-encoded once per batch: detectors, hashing and
        normalisation touch each distinct text once, and the per-turn frame carries only
        integer indices into that dictionary.
        """
        turns, texts = _turns_of(batch, self.rows)
        self.rows += batch.num_rows
        if turns.height == 0:
            return
        text_list: list[str] | None = None

        def text_at(idx: list[int]) -> list[str]:
            nonlocal text_list
            if text_list is None:
                text_list = texts.to_list()
            return [text_list[i] for i in idx]

        # Per distinct text: length, raw hash (role-play key) and normalised hash (duplicates).
        per_text = pl.DataFrame({"text": texts}).select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("cidx"),
            pl.col("text").str.len_chars().cast(pl.Int64).alias("chars"),
            pl.col("text").hash(seed=0).alias("raw_hash"),
            pl.col("text").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars().hash(seed=0).alias("norm_hash"),
        )
        same_conv = pl.col("conv").shift(1) == pl.col("conv")
        turns = turns.join(per_text, on="cidx", how="left", maintain_order="left").with_columns(
            pl.when((pl.col("role").shift(1) == "user") & same_conv).then(pl.col("cidx").shift(1)).alias("pidx"),
        )

        answers = turns.filter(pl.col("role") == "assistant")
        distinct = answers.get_column("cidx").unique().sort().to_list()
        facts = self._lookup(self._answer_cache, text_at(distinct), lambda texts: [self._answer_facts(t) for t in texts])
        facts_df = pl.DataFrame(
            {
                "cidx": distinct,
                "structure": [f[0] for f in facts],
                **{f"id_{k}": [f[i + 1] for f in facts] for i, k in enumerate(IDENTITY_KINDS)},
            },
            schema={"cidx": pl.UInt32, "structure": pl.Utf8, **{f"id_{k}": pl.Boolean for k in IDENTITY_KINDS}},
        )
        pairs = answers.select("pidx", "cidx").unique().sort("pidx", "cidx", nulls_last=True)
        prompts = [None if i is None else text_at([i])[0] for i in pairs.get_column("pidx").to_list()]
        keys = list(zip(prompts, text_at(pairs.get_column("cidx").to_list())))
        refusals = self._lookup(self._refusal_cache, keys, self._refusals)
        refusal_df = pairs.with_columns(pl.Series("refusal", refusals, dtype=pl.Boolean))
        turns = turns.join(facts_df, on="cidx", how="left", maintain_order="left").join(
            refusal_df, on=["pidx", "cidx"], how="left", maintain_order="left", nulls_equal=True
        )

        if self.tokenizer is not None:
            scored = turns.filter(pl.col("role").is_in(["user", "assistant"])).get_column("cidx").unique().sort().to_list()
            tok_df = pl.DataFrame(
                {"cidx": scored, "tokens": self._lookup(self._token_cache, text_at(scored), self.tokenizer.count)},
                schema={"cidx": pl.UInt32, "tokens": pl.Int64},
            )
            turns = turns.join(tok_df, on="cidx", how="left", maintain_order="left")
        else:
            turns = turns.with_columns(pl.lit(None, dtype=pl.Int64).alias("tokens"))

        self.conv_frames.append(self._conversations(turns, text_at))
        self.turn_frames.append(turns.select(list(TURN_SCHEMA)).cast(TURN_SCHEMA))

    def _conversations(self, turns: pl.DataFrame, text_at: Callable[[list[int]], list[str]]) -> pl.DataFrame:
        role_code = pl.col("role").replace_strict({r: i for i, r in enumerate(ROLES)}, default=len(ROLES), return_dtype=pl.UInt64)
        is_rp_role = pl.col("role").is_in(list(ROLEPLAY_WHERE))
        convs = turns.group_by("conv", maintain_order=True).agg(
            (pl.col("role") != "system").sum().cast(pl.Int64).alias("n_turns"),
            (pl.col("role") == "system").any().alias("has_system"),
            pl.struct(role_code, pl.col("norm_hash")).hash(seed=0).alias("dup_hash"),
            pl.struct(role_code, pl.col("raw_hash")).hash(seed=0).filter(is_rp_role).alias("rp_key"),
            pl.col("role").filter(is_rp_role).alias("rp_roles"),
            pl.col("cidx").filter(is_rp_role).alias("rp_cidx"),
        ).with_columns(pl.col("dup_hash").hash(seed=0), pl.col("rp_key").hash(seed=0))
        keys = convs.select("rp_key", "rp_roles", "rp_cidx").unique(subset="rp_key", keep="first", maintain_order=True)
        key_list = keys.get_column("rp_key").to_list()
        missing = [k for k in key_list if k not in self._roleplay_cache]
        if missing:
            wanted = keys.filter(pl.col("rp_key").is_in(missing))
            for key, roles, cidx in wanted.iter_rows():
                record = {"id": "", "messages": [{"role": r, "content": c} for r, c in zip(roles, text_at(cidx))], "meta": {}}
                self._roleplay_cache.put_many([(key, frozenset(self.det.roleplay_where(record)))])
        wheres = [self._roleplay_cache[k] for k in key_list]
        rp = pl.DataFrame(
            {
                "rp_key": key_list,
                "rp_system": ["system" in w for w in wheres],
                "rp_user": ["user" in w for w in wheres],
            },
            schema={"rp_key": pl.UInt64, "rp_system": pl.Boolean, "rp_user": pl.Boolean},
        )
        convs = convs.join(rp, on="rp_key", how="left", maintain_order="left")
        return convs.select(list(CONV_SCHEMA)).cast(CONV_SCHEMA)

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        turns = pl.concat(self.turn_frames) if self.turn_frames else pl.DataFrame(schema=TURN_SCHEMA)
        convs = pl.concat(self.conv_frames) if self.conv_frames else pl.DataFrame(schema=CONV_SCHEMA)
        return turns, convs


def _turns_of(batch: pa.Table, offset: int) -> tuple[pl.DataFrame, pl.Series]:
    """One row per message (conv = global row number, role, cidx) and the distinct texts.

    `cidx` indexes the batch's dictionary of distinct message texts; no Python loop.
    """
    if "messages" not in batch.column_names:
        raise InputError("the table has no 'messages' column; is it a safetune record table?", field="messages")
    msgs = batch.column("messages").combine_chunks()
    if isinstance(msgs, pa.ChunkedArray):  # pragma: no cover - older pyarrow
        msgs = pa.concat_arrays(msgs.chunks)
    flat = pc.list_flatten(msgs)
    parents = pc.list_parent_indices(msgs)
    content = pc.fill_null(flat.field("content").cast(pa.large_string()), "")
    encoded = pc.dictionary_encode(content)
    turns = pl.DataFrame(
        {
            "conv": pl.from_arrow(parents).cast(pl.Int64) + offset,
            "role": pl.from_arrow(flat.field("role")).cast(pl.Utf8),
            "cidx": pl.from_arrow(encoded.indices).cast(pl.UInt32),
        }
    )
    return turns, pl.from_arrow(encoded.dictionary).cast(pl.Utf8)


def iter_batches(data: Any, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.Table]:
    """Record batches of a `pa.Table` or a `datasets.Dataset` (indices mappings respected)."""
    if isinstance(data, pa.Table):
        for start in range(0, data.num_rows, batch_rows):
            yield data.slice(start, batch_rows)
        return
    if hasattr(data, "with_format"):  # datasets.Dataset
        yield from data.with_format("arrow").iter(batch_size=batch_rows)
        return
    raise TypeError(f"cannot profile a {type(data).__name__}; pass a datasets.Dataset or a pyarrow.Table")


def num_rows(data: Any) -> int:
    return data.num_rows if hasattr(data, "num_rows") else len(data)
