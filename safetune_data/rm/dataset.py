"""Scoring whole datasets (`rm score`) and comparing variants by mean reward (`rm compare`).

`score_dataset` keeps the project's output conventions: the scored copy is written with
`datasets.Dataset.save_to_disk` into a temporary sibling directory, given a manifest that
names the model and the reward statistics, and renamed into place only when complete.

`compare_variants` asks "which variant does this reward model like best?", and, given the
results of a harness run, whether that preference tracks the variants' measured safety
(Spearman rank correlation with, by default, the harmful-prompt refusal rate).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from ..io.api import save_derived
from ..io.manifest import read_manifest
from ..io.sources import read_json
from ..io.writer import OutputDir, check_output_is_not_input
from ..stats import bootstrap_interval
from .score import Scorer

OnBatch = Callable[[int], None]


def load_records(directory: str | Path) -> Any:
    """A record dataset written by `safetune` (or any `save_to_disk` dir with a `messages` column)."""
    import datasets

    path = Path(directory)
    if not path.is_dir():
        raise InputError("dataset directory not found", file=str(path))
    try:
        ds = datasets.load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise InputError(f"not a dataset directory written by save_to_disk: {exc}", file=str(path)) from None
    if isinstance(ds, datasets.DatasetDict):
        raise InputError("expected one dataset, found a DatasetDict", file=str(path),
                         hint=f"point at one split: {', '.join(ds)}")
    for col in ("id", "messages"):
        if col not in ds.column_names:
            raise InputError(f"dataset has no '{col}' column", file=str(path), field=col)
    return ds


def conversations_of(ds: Any, source: str) -> list[list[dict]]:
    convs = []
    for i, msgs in enumerate(ds["messages"]):
        if not msgs or not any(m.get("role") == "assistant" for m in msgs):
            raise InputError("conversation has no assistant turn to score", file=source, row=i, field="messages")
        convs.append([{"role": m["role"], "content": m["content"]} for m in msgs])
    return convs


def reward_summary(scores: Sequence[float]) -> dict[str, Any]:
    x = np.asarray(scores, dtype=float)
    if x.size == 0:
        return {"n": 0}
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"n": int(x.size), "mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()),
            "max": float(x.max()), "q05": float(q[0]), "q25": float(q[1]), "q50": float(q[2]), "q75": float(q[3]),
            "q95": float(q[4])}


def score_dataset(scorer: Scorer, in_dir: str | Path, out_dir: str | Path, *, column: str = "reward",
                  batch_size: int = 8, overwrite: bool = False, command: Sequence[str] = (),
                  on_batch: OnBatch | None = None) -> dict[str, Any]:
    """Write a copy of `in_dir` with a reward column; returns the manifest written next to it."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    check_output_is_not_input(out_dir, [str(in_dir)])
    ds = load_records(in_dir)
    scores, stats = scorer.score(conversations_of(ds, str(in_dir)), batch_size=batch_size, on_batch=on_batch)
    replaced = column in ds.column_names
    if replaced:
        ds = ds.remove_columns(column)
    ds = ds.add_column(column, scores)
    with OutputDir(out_dir, overwrite=overwrite) as out:
        manifest = save_derived(ds, out.path, source=in_dir, command=command, extra={
            "reward": {"model": scorer.name, "kind": scorer.kind, "column": column, "replaced_column": replaced,
                       "stats": reward_summary(scores), "scoring": stats.as_dict()}})
        out.commit()
    return manifest


# --- compare --------------------------------------------------------------------------

def variant_name(directory: Path) -> str:
    manifest = read_manifest(directory) or {}
    return str(manifest.get("variant") or directory.name)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`."""
    if not isinstance(obj, dict):
        return {prefix: obj}
    return {key: value for k, v in obj.items() for key, value in _flatten(v, f"{prefix}.{k}" if prefix else str(k)).items()}


def _variant_entries(results: Any) -> dict[str, Any]:
    """name (and data dir) → per-variant block, from the shapes a results file may take.

    `safetune harness run` writes `rows: [{name, kind, data, summary: {judge: {metric:
    {rate, ...}}}, ...}]`; plain `{variants: {name: {...}}}` or `[{name: ...}]` work too.
    """
    if isinstance(results, dict) and isinstance(results.get("rows"), list):
        container: Any = results["rows"]
    else:
        container = results.get("variants", results) if isinstance(results, dict) else results
    if isinstance(container, dict):
        return {str(k): v for k, v in container.items() if isinstance(v, dict)}
    entries: dict[str, Any] = {}
    if isinstance(container, list):
        for item in container:
            if not isinstance(item, dict):
                continue
            name = item.get("name") or item.get("variant") or item.get("id")
            if name is not None:
                entries.setdefault(str(name), item)
            if isinstance(item.get("data"), str):
                entries.setdefault("path:" + str(Path(item["data"]).resolve()), item)
    return entries


def variant_metric(results: Any, variant: str, metric: str, path: str | Path | None = None) -> float | None:
    """The metric of one variant (matched by name, else by its data directory).

    Keys match exactly, or as the tail of an underscore-joined path
    (`summary.<judge>.harmful_refusal.rate` matches `harmful_refusal_rate`); the primary
    judge's pooled summary is preferred over per-benchmark figures.
    """
    entries = _variant_entries(results)
    entry = entries.get(variant)
    if entry is None and path is not None:
        entry = entries.get("path:" + str(Path(path).resolve()))
    if entry is None:
        return None
    want = metric.replace(".", "_")
    primary = results.get("primary_judge") if isinstance(results, dict) else None
    flat = _flatten(entry)

    def ok(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    tiers = [lambda k: k == want,
             lambda k: primary is not None and k.startswith(f"summary_{primary}_") and k.endswith("_" + want),
             lambda k: k.startswith("summary_") and k.endswith("_" + want),
             lambda k: k.endswith("_" + want)]
    for match in tiers:
        for key, value in flat.items():
            if match(key.replace(".", "_")) and ok(value):
                return float(value)
    return None


def read_results(path: str | Path) -> Any:
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.exists():
        raise InputError("harness results not found", file=str(path), hint="point --results at a `safetune harness run` output")
    return read_json(path)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    rho = spearmanr(x, y).statistic
    return None if rho is None or math.isnan(rho) else float(rho)


def compare_variants(scorer: Scorer, variant_dirs: Sequence[str | Path], *, batch_size: int = 8,
                     n_resamples: int = 2000, seed: int = 0, results: Any = None,
                     metric: str = "harmful_refusal_rate", on_variant: Callable[[str, int], OnBatch | None] | None = None
                     ) -> dict[str, Any]:
    """Mean reward per variant with bootstrap intervals; with `results`, rank correlation to safety."""
    variants = []
    for d in variant_dirs:
        d = Path(d)
        ds = load_records(d)
        name = variant_name(d)
        if any(v["name"] == name for v in variants):
            raise InputError(f"two variants are named '{name}'", file=str(d))
        hook = on_variant(name, len(ds)) if on_variant else None
        scores, stats = scorer.score(conversations_of(ds, str(d)), batch_size=batch_size, on_batch=hook)
        low, high = bootstrap_interval(scores, n_boot=n_resamples, seed=seed)
        variants.append({"name": name, "path": str(d), "rows": len(ds), "mean_reward": float(np.mean(scores)),
                         "ci95": [low, high], "reward": reward_summary(scores), "scoring": stats.as_dict()})
    out: dict[str, Any] = {"model": scorer.name, "kind": scorer.kind, "variants": variants}
    for rank, v in enumerate(sorted(variants, key=lambda v: -v["mean_reward"]), start=1):
        v["rank"] = rank
    if results is not None:
        for v in variants:
            v[metric] = variant_metric(results, v["name"], metric, v["path"])
        paired = [(v["mean_reward"], v[metric]) for v in variants if v[metric] is not None]
        out["safety"] = {"metric": metric, "variants_matched": len(paired),
                         "variants_unmatched": [v["name"] for v in variants if v[metric] is None],
                         "spearman": spearman([p[0] for p in paired], [p[1] for p in paired])}
    return out
