"""Selecting rows by a reward-model score (`select.top_reward`).

    from safetune_data import transforms as T
    ds = T.select.top_reward(fraction=0.5)(ds)          # keep the best half by `reward`

The reward column comes from `safetune rm score`. Audit the reward model first
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

    def setup(self) -> None:
        has_fraction, has_count = "fraction" in self.params, "count" in self.params
        if has_fraction == has_count:
            raise ConfigError("select.top_reward needs exactly one of 'fraction' or 'count'",
                              field="fraction" if has_count else "count")

    def keep_count(self, n: int) -> int:
        if "count" in self.params:
            return min(n, int(self.params["count"]))
        return min(n, math.floor(self.params["fraction"] * n + 0.5))

    def apply_dataset(self, ds: Any) -> Any:
        column = self.params["column"]
        if column not in ds.column_names:
            raise InputError(f"no '{column}' column to select by", field=column,
                             hint="add one with `safetune rm score`, or set `column`")
        rewards = ds[column]
        ids = ds["id"]
        missing = [i for i, r in enumerate(rewards) if r is None or (isinstance(r, float) and math.isnan(r))]
        if missing:
            raise InputError(f"'{column}' is empty on {len(missing)} row(s), e.g. id '{ids[missing[0]]}'",
                             row=missing[0], field=column)
        n = len(rewards)
        k = self.keep_count(n)
        tie = [rng_for(self.seed, self.step, rid).random() for rid in ids]
        ranked = sorted(range(n), key=lambda i: (-float(rewards[i]), tie[i], ids[i]))
        kept = sorted(ranked[:k])
        self.stats.seen += n
        if n - k:
            self.stats.dropped["below top reward"] += n - k
        return ds.select(kept)


top_reward = TopReward
