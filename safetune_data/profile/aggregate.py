"""The profile's statistics, as polars expressions over the narrow detector frames.

No per-row Python here: every figure is one expression over the turns or convs frame.
Shares are fractions in [0, 1] (0 when the denominator is 0); histograms use fixed bin
edges so that two profiles (an original and its variant) can be compared bin by bin.
"""
from __future__ import annotations

import math
from typing import Any

import polars as pl

from .compute import IDENTITY_KINDS, STRUCTURE_CLASSES

# Fixed, roughly log-spaced bin edges; the last bin is open ("≥ last edge").
CHAR_EDGES = [0, 50, 100, 200, 400, 800, 1600, 3200, 6400]
TOKEN_EDGES = [0, 16, 32, 64, 128, 256, 512, 1024, 2048]
TURN_BUCKETS = 10  # turns per conversation counted exactly up to 10, then "11+"

PROFILE_VERSION = 1


def _share(num: int, den: int) -> float:
    return round(num / den, 6) if den else 0.0


def _histogram(values: pl.Series, edges: list[int]) -> list[dict[str, Any]]:
    """Counts per bin [edges[i], edges[i+1]); the last bin is [edges[-1], ∞)."""
    # bin index = number of inner edges at or below the value (no per-row Python)
    binned = (
        values.to_frame("v")
        .select(pl.sum_horizontal([(pl.col("v") >= e).cast(pl.Int32) for e in edges[1:]]).alias("bin"))
        .group_by("bin")
        .len()
    )
    counts = {str(b): n for b, n in binned.iter_rows()}
    return [{"lo": lo, "hi": hi, "count": int(counts.get(str(i), 0))}
            for i, (lo, hi) in enumerate(zip(edges, [*edges[1:], None]))]


def length_stats(values: pl.Series, edges: list[int]) -> dict[str, Any]:
    values = values.drop_nulls()
    if values.len() == 0:
        return {"n": 0, "mean": 0.0, "min": 0, "p50": 0, "p90": 0, "p99": 0, "max": 0, "histogram": _histogram(values, edges)}
    q = values.to_frame("v").select(
        pl.col("v").mean().alias("mean"),
        pl.col("v").min().alias("min"),
        pl.col("v").quantile(0.5, "nearest").alias("p50"),
        pl.col("v").quantile(0.9, "nearest").alias("p90"),
        pl.col("v").quantile(0.99, "nearest").alias("p99"),
        pl.col("v").max().alias("max"),
    ).row(0, named=True)
    return {
        "n": int(values.len()),
        "mean": round(float(q["mean"]), 3),
        **{k: int(q[k]) for k in ("min", "p50", "p90", "p99", "max")},
        "histogram": _histogram(values, edges),
    }


def aggregate(turns: pl.DataFrame, convs: pl.DataFrame, *, rows: int, name: str, tokenizer: str | None) -> dict:
    """The profile of one dataset (see schemas/profile.schema.json, `$defs/profile`)."""
    answers = turns.filter(pl.col("role") == "assistant")
    prompts = turns.filter(pl.col("role") == "user")
    n_answers = answers.height

    structure_counts = dict(answers.group_by("structure").len().iter_rows())
    structure = {
        "counts": {c: int(structure_counts.get(c, 0)) for c in STRUCTURE_CLASSES},
        "shares": {c: _share(int(structure_counts.get(c, 0)), n_answers) for c in STRUCTURE_CLASSES},
    }

    id_cols = [f"id_{k}" for k in IDENTITY_KINDS]
    id_counts = answers.select(
        *[pl.col(c).sum().alias(c) for c in id_cols],
        pl.any_horizontal(id_cols).sum().alias("any"),
    ).row(0, named=True) if n_answers else {c: 0 for c in [*id_cols, "any"]}
    identity = {
        "counts": {**{k: int(id_counts[f"id_{k}"] or 0) for k in IDENTITY_KINDS}, "any": int(id_counts["any"] or 0)},
    }
    identity["shares"] = {k: _share(v, n_answers) for k, v in identity["counts"].items()}

    n_convs = rows
    rp = convs.select(
        pl.col("rp_system").sum().alias("system"),
        pl.col("rp_user").sum().alias("user"),
        (pl.col("rp_system") | pl.col("rp_user")).sum().alias("any"),
        pl.col("has_system").sum().alias("system_prompt"),
        pl.col("n_turns").mean().alias("turns_mean"),
        pl.col("dup_hash").n_unique().alias("distinct"),
    ).row(0, named=True) if convs.height else {"system": 0, "user": 0, "any": 0, "system_prompt": 0, "turns_mean": 0.0, "distinct": 0}
    roleplay = {"counts": {k: int(rp[k] or 0) for k in ("system", "user", "any")}}
    roleplay["shares"] = {k: _share(v, n_convs) for k, v in roleplay["counts"].items()}

    n_refusal = int(answers.get_column("refusal").sum() or 0) if n_answers else 0

    turn_counts = convs.select(
        pl.when(pl.col("n_turns") > TURN_BUCKETS).then(pl.lit(f"{TURN_BUCKETS + 1}+")).otherwise(pl.col("n_turns").cast(pl.Utf8)).alias("t")
    ).group_by("t").len()
    turn_dist = dict(turn_counts.iter_rows())
    order = [str(i) for i in range(TURN_BUCKETS + 1)] + [f"{TURN_BUCKETS + 1}+"]
    # Conversations without any message never appear in `convs`: they count as 0 turns.
    missing = n_convs - convs.height
    if missing:
        turn_dist["0"] = turn_dist.get("0", 0) + missing

    lengths = {
        "prompt_chars": length_stats(prompts.get_column("chars"), CHAR_EDGES),
        "answer_chars": length_stats(answers.get_column("chars"), CHAR_EDGES),
    }
    if tokenizer is not None:
        lengths["prompt_tokens"] = length_stats(prompts.get_column("tokens"), TOKEN_EDGES)
        lengths["answer_tokens"] = length_stats(answers.get_column("tokens"), TOKEN_EDGES)

    distinct = int(rp["distinct"] or 0) + (1 if missing else 0)
    dup_rows = max(n_convs - distinct, 0) if n_convs else 0
    turns_mean = float(rp["turns_mean"] or 0.0) * convs.height / n_convs if n_convs else 0.0
    return {
        "name": name,
        "rows": n_convs,
        "assistant_turns": n_answers,
        "user_turns": prompts.height,
        "tokenizer": tokenizer,
        "structure": structure,
        "identity": identity,
        "roleplay": roleplay,
        "refusal": {"count": n_refusal, "share": _share(n_refusal, n_answers)},
        "system_prompt": {"count": int(rp["system_prompt"] or 0), "share": _share(int(rp["system_prompt"] or 0), n_convs)},
        "turns": {
            "mean": round(turns_mean, 4),
            "distribution": {k: int(turn_dist[k]) for k in order if k in turn_dist},
        },
        "lengths": lengths,
        "duplicates": {"rows": dup_rows, "rate": _share(dup_rows, n_convs)},
    }


# -- figures: one flat list shared by the table, markdown, diff and plots -----------------

def figures(profile: dict) -> list[tuple[str, str, float, str]]:
    """(key, label, value, kind) per headline figure; kind is "share" or "number"."""
    out: list[tuple[str, str, float, str]] = [
        ("rows", "rows", profile["rows"], "number"),
        ("assistant_turns", "assistant turns", profile["assistant_turns"], "number"),
    ]
    out += [(f"structure.{c}", f"structure: {c}", profile["structure"]["shares"][c], "share") for c in STRUCTURE_CLASSES]
    out += [(f"identity.{k}", f"identity: {k}", profile["identity"]["shares"][k], "share") for k in (*IDENTITY_KINDS, "any")]
    out += [(f"roleplay.{k}", f"role-play: {k}", profile["roleplay"]["shares"][k], "share") for k in ("system", "user", "any")]
    out += [
        ("refusal", "refusing answers", profile["refusal"]["share"], "share"),
        ("system_prompt", "system prompt present", profile["system_prompt"]["share"], "share"),
        ("duplicates", "exact duplicates", profile["duplicates"]["rate"], "share"),
        ("turns.mean", "turns / conversation (mean)", profile["turns"]["mean"], "number"),
    ]
    for key, stats in profile["lengths"].items():
        label = key.replace("_", " ")
        out.append((f"lengths.{key}.mean", f"{label} (mean)", stats["mean"], "number"))
        out.append((f"lengths.{key}.p50", f"{label} (median)", stats["p50"], "number"))
    return out


def diff(before: dict, after: dict) -> dict[str, float]:
    """after − before per figure both profiles have (rounded; shares stay fractions)."""
    a = {k: v for k, _, v, _ in figures(before)}
    b = {k: v for k, _, v, _ in figures(after)}
    return {k: round(b[k] - a[k], 6) for k in a if k in b and not (math.isnan(a[k]) or math.isnan(b[k]))}
