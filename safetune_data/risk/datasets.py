"""Scoring whole datasets and runs: `safetune risk` and `safetune_data.risk.score_risk`.

Inputs are dataset directories (`safetune convert`/`run`/`write` outputs) or run directories
(every variant of the run's index). The output directory holds, per dataset, a copy of its
records with one `risk_<scorer>` column per per-row scorer (so `select.risk` and the filter
steps can use them), `summary.json` (per dataset and scorer: the score, its parts, quantiles
of the row scores, runtime, rows/s and cache hits) and `summary.md` (the comparison table).
Given a harness results file, each scorer's dataset scores are set against a measured metric
(Spearman ρ with a bootstrap interval over datasets).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from ..io.api import save_derived
from ..io.atomic import write_json_atomic, write_text_atomic
from ..io.writer import OutputDir, check_output_is_not_input
from ..rm.dataset import load_records, read_results, spearman, variant_metric, variant_name
from ..run import index_variants
from .anchors import load_anchors, load_probe
from .cache import ScoreCache
from .lm import RiskLM
from .scorers import Context, RiskScorer, Rows, Scored

COLUMN_PREFIX = "risk_"


def resolve_inputs(paths: Sequence[str | Path]) -> list[tuple[str, Path, dict]]:
    """(name, directory, factors) of every dataset to score: a run directory stands for its variants."""
    out: list[tuple[str, Path, dict]] = []
    for p in map(Path, paths):
        if (p / "index.json").is_file():
            out += index_variants(p)
        elif p.is_dir():
            from ..io.manifest import read_manifest

            out.append((variant_name(p), p, (read_manifest(p) or {}).get("factors") or {}))
        else:
            raise InputError("not a dataset or run directory", file=str(p),
                             hint="give the output of `safetune convert`, `safetune run` or `safetune write`")
    names = [n for n, _, _ in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"two inputs are both named '{dupes[0]}'", hint="score them in separate runs, or rename one")
    return out


def summarise(values: Sequence[float]) -> dict[str, float]:
    x = np.asarray(values, dtype=float)
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"mean": float(x.mean()), "std": float(x.std()), "q05": float(q[0]), "q25": float(q[1]),
            "q50": float(q[2]), "q75": float(q[3]), "q95": float(q[4])}


def spearman_interval(x: Sequence[float], y: Sequence[float], *, n_boot: int = 2000, seed: int = 0) -> list[float | None]:
    """95% percentile bootstrap of Spearman ρ, resampling datasets (resamples without spread skipped)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    if n < 3:
        return [None, None]
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    rhos = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        rho = spearman(xs[idx].tolist(), ys[idx].tolist())
        if rho is not None:
            rhos.append(rho)
    if len(rhos) < n_boot // 10:
        return [None, None]
    return [float(np.quantile(rhos, 0.025)), float(np.quantile(rhos, 0.975))]


def measured(results: Any, name: str, path: Path, factors: dict, metric: str) -> tuple[float | None, int]:
    """The metric of a dataset in harness results: the mean over every variant row trained on
    its data directory (the seeds of one cell train on the same directory), else the row of
    that name, else the mean over the variant rows trained on the same factors. (value, rows)."""
    rows = [row for row in (results.get("rows", []) if isinstance(results, dict) else [])
            if isinstance(row, dict) and row.get("kind") == "variant" and row.get("data")]
    target = Path(path).resolve()
    values = [variant_metric(results, row["name"], metric) for row in rows if Path(row["data"]).resolve() == target]
    values = [v for v in values if v is not None]
    if values:
        return float(np.mean(values)), len(values)
    value = variant_metric(results, name, metric, path)
    if value is not None:
        return value, 1
    if not factors or not isinstance(results, dict):
        return None, 0
    values = [variant_metric(results, row["name"], metric) for row in results.get("rows", [])
              if isinstance(row, dict) and row.get("kind") == "variant" and row.get("factors") == factors]
    values = [v for v in values if v is not None]
    return (float(np.mean(values)), len(values)) if values else (None, 0)


def correlate(doc: dict, results: Any, metric: str, *, seed: int = 0) -> dict:
    """Per scorer: Spearman ρ between dataset scores and the measured metric, with its interval."""
    for d in doc["datasets"]:
        d["measured"], d["measured_rows"] = measured(results, d["name"], Path(d["path"]), d.get("factors") or {}, metric)
    matched = [d for d in doc["datasets"] if d["measured"] is not None]
    out: dict[str, Any] = {"metric": metric, "datasets_matched": len(matched),
                           "datasets_unmatched": [d["name"] for d in doc["datasets"] if d["measured"] is None],
                           "scorers": {}}
    for name in doc["scorers"]:
        xs = [d["scores"][name]["value"] for d in matched]
        ys = [d["measured"] for d in matched]
        out["scorers"][name] = {"spearman": spearman(xs, ys), "ci95": spearman_interval(xs, ys, seed=seed)}
    return out


def score_risk(
    model: str | Path,
    inputs: Sequence[str | Path],
    scorers: Sequence[RiskScorer],
    out: str | Path | None = None,
    *,
    anchors: str | Path | None = None,
    probe: str | Path | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 8,
    max_length: int = 512,
    limit: int | None = None,
    device: str = "auto",
    dtype: str = "auto",
    trust_remote_code: bool = False,
    results: str | Path | None = None,
    metric: str = "harmful_refusal_rate",
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    start: Callable[..., Callable[[int], None]] | None = None,
) -> dict[str, Any]:
    """Score every dataset of `inputs` with `scorers`; write `out` (when given) and return the summary.

        from safetune_data.risk import make_scorers, score_risk
        doc = score_risk("aligned/", ["runs/study"], make_scorers(["representation"]), "risk_out")
    """
    datasets = resolve_inputs(inputs)
    if out is not None:
        check_output_is_not_input(Path(out), [str(d) for _, d, _ in datasets])
    res = read_results(results) if results is not None else None
    anchor_set, probe_set = load_anchors(anchors), load_probe(probe)
    lm = RiskLM(model, device=device, dtype=dtype, max_length=max_length, trust_remote_code=trust_remote_code)
    cache = ScoreCache(cache_dir)
    ctx = Context(lm, cache, anchor_set, probe_set, batch_size=batch_size, start=start)
    doc: dict[str, Any] = {
        "model": str(model), "model_fingerprint": lm.fingerprint, "device": lm.device,
        "scorers": {s.name: {"params": s.params, "citation": s.citation, "per_row": s.per_row} for s in scorers},
        "anchors": {"file": str(anchors) if anchors else "builtin", "rows": len(anchor_set)},
        "probe": {"file": str(probe) if probe else "builtin", "rows": len(probe_set)},
        "max_length": max_length, "limit": limit, "datasets": [],
    }
    loaded = []
    try:
        for name, directory, factors in datasets:
            ds = load_records(directory)
            if limit is not None:
                ds = ds.select(range(min(limit, len(ds))))
            rows = Rows(name, str(directory), [str(i) for i in ds["id"]],
                        [[{"role": m["role"], "content": m["content"]} for m in msgs] for msgs in ds["messages"]])
            entry: dict[str, Any] = {"name": name, "path": str(directory), "factors": factors, "rows": len(rows.ids),
                                     "scores": {}}
            for scorer in scorers:
                t0 = time.perf_counter()
                scored: Scored = scorer.score(ctx, rows)
                seconds = time.perf_counter() - t0
                block: dict[str, Any] = {"value": scored.value, "parts": scored.parts, "seconds": round(seconds, 3),
                                         "rows_per_s": round(len(rows.ids) / seconds, 2) if seconds > 0 else None,
                                         "cached": scored.cached}
                if scored.rows is not None:
                    block["rows"] = summarise(scored.rows)
                    block["column"] = COLUMN_PREFIX + scorer.name
                entry["scores"][scorer.name] = block
                entry.setdefault("_columns", {})[scorer.name] = scored.rows
            doc["datasets"].append(entry)
            loaded.append(ds)
    finally:
        cache.close()
    if res is not None:
        doc["correlation"] = correlate(doc, res, metric)
    columns = [d.pop("_columns") for d in doc["datasets"]]
    if out is not None:
        write_outputs(Path(out), doc, loaded, columns, overwrite=overwrite,
                      command=list(command) if command is not None else ["python", *sys.argv])
    return doc


def write_outputs(out: Path, doc: dict, loaded: list[Any], columns: list[dict], *, overwrite: bool,
                  command: list[str]) -> None:
    """OUT/<dataset>/ (records + risk columns + manifest), summary.json, summary.md; all or nothing."""
    with OutputDir(out, overwrite=overwrite) as target:
        for entry, ds, cols in zip(doc["datasets"], loaded, columns):
            for scorer, values in cols.items():
                if values is None:
                    continue
                column = COLUMN_PREFIX + scorer
                if column in ds.column_names:
                    ds = ds.remove_columns(column)
                ds = ds.add_column(column, [float(v) for v in values])
            sub = target.path / safe_dirname(entry["name"])
            sub.mkdir()
            entry["dir"] = sub.name
            save_derived(ds, sub, source=entry["path"], command=command, extra={"risk": {
                "model": doc["model"], "model_fingerprint": doc["model_fingerprint"],
                "scores": entry["scores"], "scorers": doc["scorers"]}})
        write_json_atomic(target.path / "summary.json", doc)
        write_text_atomic(target.path / "summary.md", to_markdown(doc))
        target.commit()


def safe_dirname(name: str) -> str:
    return "".join(c if c.isalnum() or c in "=,._-" else "_" for c in name) or "dataset"


def _fmt(x: float | None, digits: int = 4) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def to_markdown(doc: dict) -> str:
    """The comparison table: one row per dataset, one column per scorer (and the measured metric)."""
    scorers = list(doc["scorers"])
    corr = doc.get("correlation")
    head = ["dataset", "rows", *scorers] + ([corr["metric"]] if corr else [])
    lines = [f"# Risk scores ({doc['model']})", "",
             "Higher = more likely to erode safety when fine-tuned on. Scorers: "
             + "; ".join(f"`{n}` ({s['citation']})" for n, s in doc["scorers"].items()) + ".", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for d in doc["datasets"]:
        cells = [d["name"], str(d["rows"]), *(_fmt(d["scores"][s]["value"]) for s in scorers)]
        if corr:
            cells.append(_fmt(d.get("measured"), 3))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| scorer | seconds (all datasets) | rows/s |", "|---|---:|---:|"]
    for s in scorers:
        secs = sum(d["scores"][s]["seconds"] for d in doc["datasets"])
        rows = sum(d["rows"] for d in doc["datasets"])
        lines.append(f"| {s} | {secs:.1f} | {rows / secs if secs else float('nan'):.1f} |")
    if corr:
        lines += ["", f"Spearman ρ with measured `{corr['metric']}` over {corr['datasets_matched']} datasets "
                  "(a scorer that works gives ρ near −1: riskier data, less refusal):", "",
                  "| scorer | ρ | 95% CI |", "|---|---:|---|"]
        for s, c in corr["scorers"].items():
            lo, hi = c["ci95"]
            lines.append(f"| {s} | {_fmt(c['spearman'], 3)} | [{_fmt(lo, 2)}, {_fmt(hi, 2)}] |")
    return "\n".join(lines) + "\n"
