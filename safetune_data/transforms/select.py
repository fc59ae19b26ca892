"""Selecting rows by a score column: a reward (`select.top_reward`) or a risk score (`select.risk`).

    from safetune_data import transforms as T
    ds = T.select.top_reward(fraction=0.5)(ds)          # keep the best half by `reward`
    ds = T.select.risk(column="risk_representation", fraction=0.5)(ds)   # keep the safer half

The reward column comes from `safetune rm score`, risk columns from `safetune risk`. Audit the reward model first
(`safetune rm eval`): reward models often disagree with human safety preferences, and
selecting by a miscalibrated one can quietly remove the safest answers.

Ties are broken by a per-row random number from (seed, step, id), so which of several
equally scored rows survive depends only on the rows and the seed, never on their order.
Kept rows stay in input order.
"""
from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError, InputError
from ..registry import schema
from .base import DatasetStep, register, rng_for


def _number(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


@register
class TopReward(DatasetStep):
    """Keep the top `fraction` (or `count`) of rows by a reward column."""

    name = "select.top_reward"
    params_schema = schema(
        column={"type": "string", "default": "reward", "description": "numeric column to rank by"},
        fraction={"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                     "description": "share of rows to keep (rounded to the nearest row)"},
        count={"type": "integer", "minimum": 0, "description": "number of rows to keep"},
    )

    source_hint = "add one with `safetune rm score`, or set `column`"
    sizes = ("fraction", "count")

    def setup(self) -> None:
        given = [k for k in self.sizes if k in self.params]
        if len(given) != 1:
            raise ConfigError(f"{self.name} needs exactly one of {' or '.join(repr(k) for k in self.sizes)}",
                              field=given[1] if given else self.sizes[0])

    def keep_count(self, n: int) -> int:
        if "count" in self.params:
            return min(n, int(self.params["count"]))
        return min(n, math.floor(self.params["fraction"] * n + 0.5))

    def scores(self, ds: Any) -> tuple[list[float], list[str]]:
        """The score column as floats, and the ids; a missing column or an empty cell is an error."""
        column = self.params["column"]
        if column in ds.column_names:
            values = ds[column]
        elif "meta" in ds.column_names and column in (getattr(ds.features["meta"], "keys", lambda: ())()):
            values = [_number((m or {}).get(column)) for m in ds["meta"]]  # carried over as text by a reader
        else:
            raise InputError(f"no '{column}' column to select by", field=column, hint=self.source_hint)
        ids = ds["id"]
        missing = [i for i, r in enumerate(values) if r is None or (isinstance(r, float) and math.isnan(r))]
        if missing:
            raise InputError(f"'{column}' is empty on {len(missing)} row(s), e.g. id '{ids[missing[0]]}'",
                             row=missing[0], field=column)
        return [float(v) for v in values], ids

    def ranked(self, values: list[float], ids: list[str], *, highest_first: bool) -> list[int]:
        sign = -1.0 if highest_first else 1.0
        tie = [rng_for(self.seed, self.step, rid).random() for rid in ids]
        return sorted(range(len(values)), key=lambda i: (sign * values[i], tie[i], ids[i]))

    def apply_dataset(self, ds: Any) -> Any:
        values, ids = self.scores(ds)
        n = len(values)
        k = self.keep_count(n)
        kept = sorted(self.ranked(values, ids, highest_first=True)[:k])
        self.stats.seen += n
        if n - k:
            self.stats.dropped["below top reward"] += n - k
        return ds.select(kept)


top_reward = TopReward


@register
class Risk(TopReward):
    """Keep the lowest-risk rows by a `safetune risk` column (or the highest, for stress tests),
    by count or fraction, or drop the rows whose risk is above a threshold."""

    name = "select.risk"
    params_schema = schema(
        column={"type": "string", "default": "risk_representation",
                "description": "risk column written by `safetune risk` (risk_<scorer>)"},
        keep={"enum": ["lowest", "highest"], "default": "lowest",
              "description": "which end to keep: lowest risk (safer data) or highest (a stress test)"},
        fraction={"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                  "description": "share of rows to keep (rounded to the nearest row)"},
        count={"type": "integer", "minimum": 0, "description": "number of rows to keep"},
        max_risk={"type": "number", "description": "drop every row whose risk is above this value (keep: lowest only)"},
    )
    source_hint = "add risk columns with `safetune risk --model MODEL DATASET --out OUT`, or set `column`"
    sizes = ("fraction", "count", "max_risk")

    def setup(self) -> None:
        super().setup()
        if "max_risk" in self.params and self.params["keep"] != "lowest":
            raise ConfigError("max_risk drops the riskiest rows; it cannot be combined with keep: highest",
                              field="max_risk")

    def apply_dataset(self, ds: Any) -> Any:
        values, ids = self.scores(ds)
        n = len(values)
        self.stats.seen += n
        if "max_risk" in self.params:
            limit = float(self.params["max_risk"])
            kept = [i for i, v in enumerate(values) if v <= limit]
            if n - len(kept):
                self.stats.dropped[f"risk above {limit:g}"] += n - len(kept)
            return ds.select(kept)
        lowest = self.params["keep"] == "lowest"
        k = self.keep_count(n)
        kept = sorted(self.ranked(values, ids, highest_first=not lowest)[:k])
        if n - k:
            self.stats.dropped["higher risk" if lowest else "lower risk"] += n - k
        return ds.select(kept)


risk = Risk
