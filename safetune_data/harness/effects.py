"""Main effects of two-level factors in a factorial harness run, with paired-bootstrap intervals.

A grid of variants (structure × identity × role-play) is run to say what each factor does, yet
the per-row table only shows cells. Every variant answers the same prompts, so a factor's effect
is read here as the mean, over matched pairs of cells that differ in that factor alone, of the
difference in refusal rate. Its interval resamples prompts with one resample shared by every
cell: that keeps the pairing (a hard prompt is hard for all variants), which separate per-row
intervals ignore. Rows that repeat a cell with another training seed are averaged into the cell,
so with one seed per cell the interval covers prompt sampling only, not training noise.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io.sources import read_rows
from ..stats import bootstrap_means

# The level an effect is measured from when a factor has one of these; otherwise the
# alphabetically first. They are the "off" levels of the built-in transforms' grids.
BASELINE_LEVELS = ("none", "plain", "strip", "original", "off")


def _baseline(levels: list[str]) -> str:
    return next((name for name in BASELINE_LEVELS if name in levels), min(levels))


def _contrast(factor: str, levels: set[str], cell_keys: list[tuple]):
    """(factor, baseline, level, weights over cells, pairs) for a two-level factor with at least one
    pair of cells differing in it alone; None otherwise. The weights average the pairs' differences."""
    import numpy as np

    if len(levels) != 2:
        return None
    base = _baseline(sorted(levels))
    (level,) = levels - {base}
    index = {key: i for i, key in enumerate(cell_keys)}
    weights = np.zeros(len(cell_keys))
    pairs = 0
    for key in cell_keys:
        d = dict(key)
        if d[factor] != base:
            continue
        partner = tuple(sorted({**d, factor: level}.items()))
        if partner in index:
            weights[index[partner]] += 1
            weights[index[key]] -= 1
            pairs += 1
    return (factor, base, level, weights / pairs, pairs) if pairs else None


METRICS = ("refusal", "compliance", "neither")


def generations_file(gen_dir: str | Path, name: str) -> Path:
    """A row's stored answers: `<row>.jsonl` as a run writes it, or `<row>.jsonl.gz` as a
    study ships it beside its summary (the .jsonl path when neither exists, for the error)."""
    plain = Path(gen_dir) / f"{name}.jsonl"
    packed = Path(gen_dir) / f"{name}.jsonl.gz"
    return packed if not plain.is_file() and packed.is_file() else plain


def load_refusals(gen_dir: str | Path, row_names: list[str], judge: str) -> dict[str, dict[str, dict[str, dict]]]:
    """row -> benchmark key -> prompt id -> {"refusal": bool, "compliance": bool | None,
    "neither": bool | None}, from the run's generations/<row>.jsonl. The last two are None for
    generations judged before three-way outcomes existed."""
    out: dict[str, dict[str, dict[str, dict]]] = {}
    for name in row_names:
        path = generations_file(gen_dir, name)
        if not path.is_file():
            raise InputError("generations of a finished row are missing", file=str(path))
        per_bench: dict[str, dict[str, dict]] = defaultdict(dict)
        for loc in read_rows(path):
            try:
                item = loc.row
                v = item["judgements"][judge]
                outcome = v.get("outcome")
                per_bench[item["benchmark"]][item["id"]] = {
                    "refusal": bool(v["refused"]),
                    "compliance": None if outcome is None else outcome == "complied",
                    "neither": None if outcome is None else outcome == "neither",
                }
            except (KeyError, TypeError, AttributeError) as exc:
                raise InputError(f"not a judged generation ({exc.__class__.__name__}: {exc})",
                                 file=str(path), line=loc.line, field=f"judgements.{judge}.refused") from exc
        out[name] = dict(per_bench)
    return out


def factor_effects(results: dict[str, Any], gen_dir: str | Path, *, judge: str | None = None,
                   n_boot: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """One entry per (two-level factor, benchmark) that has at least one matched pair of cells.

    Each entry: factor, baseline and level (effect = level − baseline, in the rate of `metric`:
    refusal always; compliance and neither when every row carries three-way outcomes), benchmark,
    effect, ci_low, ci_high (95% percentile bootstrap over prompts), pairs, cells, n_prompts.
    """
    import numpy as np

    judge = judge or results["primary_judge"]
    rows = [r for r in results["rows"] if r.get("kind") == "variant" and r.get("factors")]
    if not rows:
        return []
    refusals = load_refusals(gen_dir, [r["name"] for r in rows], judge)
    cells: dict[tuple, list[str]] = defaultdict(list)  # factor combination -> its rows (seeds)
    for r in rows:
        cells[tuple(sorted(r["factors"].items()))].append(r["name"])
    cell_keys = sorted(cells)
    levels: dict[str, set[str]] = defaultdict(set)
    for key in cell_keys:
        for f, v in key:
            levels[f].add(v)
    contrasts = [c for f in sorted(levels) if (c := _contrast(f, levels[f], cell_keys)) is not None]

    effects = []
    for bench in [b["key"] for b in results["benchmarks"]]:
        ids = sorted(set.intersection(*(set(refusals[n].get(bench, {})) for ns in cells.values() for n in ns)))
        if not ids:
            continue
        for metric in METRICS:
            if any(refusals[n][bench][i][metric] is None for ns in cells.values() for n in ns for i in ids):
                continue  # judged without outcomes: refusal only
            # cells x prompts: the fraction of the cell's rows (seeds) with this outcome on each prompt
            m = np.array([[np.mean([refusals[n][bench][i][metric] for n in cells[key]]) for i in ids]
                          for key in cell_keys])
            boot = bootstrap_means(m, n_boot, seed)  # cells x n_boot, prompts resampled alike in every cell
            rates = m.mean(axis=1)
            for factor, base, level, weights, pairs in contrasts:
                dist = weights @ boot
                effects.append({
                    "factor": factor, "baseline": base, "level": level, "benchmark": bench, "metric": metric,
                    "effect": round(float(weights @ rates), 4),
                    "ci_low": round(float(np.percentile(dist, 2.5)), 4),
                    "ci_high": round(float(np.percentile(dist, 97.5)), 4),
                    "pairs": pairs, "cells": len(cell_keys), "n_prompts": len(ids),
                    "seeds_per_cell": sorted({len(ns) for ns in cells.values()}),
                })
    return effects


def render_effects(effects: list[dict[str, Any]], judge: str) -> str:
    """Markdown table of factor effects; empty when the run has no factorial pairs."""
    if not effects:
        return ""
    lines = [
        f"Factor effects (judge `{judge}`): change in the rate of an outcome (refusal; and, where the rows "
        "carry three-way outcomes, compliance and neither), in points, when a factor moves from its "
        "baseline level, averaged over pairs of variants that differ in that factor alone; 95% paired "
        "bootstrap over prompts (training-seed noise is not in the interval unless cells have several seeds).",
        "",
        "| factor | change | benchmark | outcome | effect | 95% interval | pairs | prompts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in effects:
        lines.append(f"| {e['factor']} | {e['baseline']} → {e['level']} | {e['benchmark']} | {e.get('metric', 'refusal')} | "
                     f"{100 * e['effect']:+.1f} | [{100 * e['ci_low']:+.1f}, {100 * e['ci_high']:+.1f}] | "
                     f"{e['pairs']} | {e['n_prompts']} |")
    return "\n".join(lines) + "\n"
