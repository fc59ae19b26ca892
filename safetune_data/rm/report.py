"""Writing an audit: JSON (validated against `schemas/rm_eval.schema.json`), markdown, plots.

Plots use matplotlib's Agg backend (no display needed): accuracy per subset per model with
95% Wilson intervals, and the agreement heatmap when there are two or more models.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ..io.atomic import write_json_atomic, write_jsonl_atomic
from ..schemas import load_schema


def validate_eval(result: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(result, load_schema("rm_eval"))


def _pct(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _acc_cell(acc: dict[str, Any]) -> str:
    lo, hi = acc["ci95"]
    tie = f", {acc['ties']} ties" if acc["ties"] else ""
    return f"{_pct(acc['accuracy'])} [{_pct(lo)}, {_pct(hi)}] (n={acc['n']}{tie})"


def markdown(result: dict[str, Any]) -> str:
    """A readable summary: accuracy per model and subset, margins, agreement."""
    names = list(result["models"])
    subsets = sorted({s for m in result["models"].values() for s in m["subsets"]})
    info = result["pairs"]
    lines = ["# Reward-model safety audit", "",
             f"Pairs: {info['pairs']} ({info['format']}; {', '.join(info['sources'])}); "
             f"rows read: {info['rows']}" + (f"; skipped: {info['skipped']}" if info["skipped"] else ""), "",
             "## Pairwise accuracy (%, 95% Wilson interval)", "",
             "| model | overall | " + " | ".join(subsets) + " |",
             "| --- | --- | " + " | ".join("---" for _ in subsets) + " |"]
    rows = [(n, result["models"][n]) for n in names]
    if "majority_vote" in result:
        rows.append(("majority vote", result["majority_vote"]))
    for name, m in rows:
        cells = [_acc_cell(m["subsets"][s]) if s in m["subsets"] else "—" for s in subsets]
        lines.append(f"| {name} | {_acc_cell(m['overall'])} | " + " | ".join(cells) + " |")
    lines += ["", "## Margins (score(chosen) − score(rejected))", "",
              "| model | mean | q05 | q25 | median | q75 | q95 | padding share |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in names:
        mg, q = result["models"][name]["margin"], result["models"][name]["margin"]["quantiles"]
        fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"| {name} | {fmt(mg['mean'])} | {fmt(q.get('q05'))} | {fmt(q.get('q25'))} | {fmt(q.get('q50'))} | "
                     f"{fmt(q.get('q75'))} | {fmt(q.get('q95'))} | {result['models'][name]['scoring']['padding_share']:.3f} |")
    if "agreement" in result:
        ag = result["agreement"]
        lines += ["", "## Agreement (share of pairs with the same preferred side; Kendall's tau-b of margins)", "",
                  "| | " + " | ".join(ag["models"]) + " |", "| --- | " + " | ".join("---" for _ in ag["models"]) + " |"]
        for i, name in enumerate(ag["models"]):
            cells = [f"{_pct(same)}% / τ={'—' if tau is None else f'{tau:.2f}'}"
                     for same, tau in zip(ag["same_side"][i], ag["kendall_tau_b"][i])]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_accuracy(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(result["models"])
    subsets = sorted({s for m in result["models"].values() for s in m["subsets"]}) + ["overall"]
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(subsets) * max(1, len(names)) ** 0.5), 4))
    x = np.arange(len(subsets))
    for k, name in enumerate(names):
        m = result["models"][name]
        accs = [m["overall"] if s == "overall" else m["subsets"].get(s) for s in subsets]
        vals = [a["accuracy"] if a and a["accuracy"] is not None else np.nan for a in accs]
        err = np.array([[v - a["ci95"][0], a["ci95"][1] - v] if a and a["accuracy"] is not None else [0, 0]
                        for a, v in zip(accs, vals)]).T
        ax.bar(x + (k - (len(names) - 1) / 2) * width, vals, width, yerr=err, capsize=3, label=_short(name))
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, subsets, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("pairwise accuracy (95% Wilson CI)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_agreement(result: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ag = result["agreement"]
    labels = [_short(n) for n in ag["models"]]
    mat = np.array(ag["same_side"], dtype=float)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2.5, 1.0 * len(labels) + 2))
    im = ax.imshow(mat, vmin=0, vmax=1, cmap="viridis")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", color="w" if mat[i, j] < 0.6 else "k")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_title("share of pairs with the same preferred side")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _short(name: str, width: int = 28) -> str:
    tail = name.rstrip("/").split("/")[-1] if "/" in name else name
    return tail if len(tail) <= width else "…" + tail[-width + 1:]


def write_eval(result: dict[str, Any], out_dir: str | Path, pair_rows: Sequence[dict] | None = None) -> dict[str, Path]:
    """eval.json, eval.md, accuracy.png (+ agreement.png) and pair_scores.jsonl under out_dir."""
    validate_eval(result)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "eval.json", "markdown": out / "eval.md", "accuracy_plot": out / "accuracy.png"}
    write_json_atomic(files["json"], result, overwrite=True)
    files["markdown"].write_text(markdown(result))
    plot_accuracy(result, files["accuracy_plot"])
    if "agreement" in result:
        files["agreement_plot"] = plot_agreement(result, out / "agreement.png")
    if pair_rows is not None:
        files["pair_scores"] = write_jsonl_atomic(out / "pair_scores.jsonl", pair_rows, overwrite=True)
    return files
