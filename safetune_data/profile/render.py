"""Profile output: a rich table, markdown, and PNG plots (matplotlib, Agg backend).

All three read the same flat figure list (`aggregate.figures`), so a number means the
same thing wherever it is shown. With two profiles, a Δ column shows after − before
(shares in percentage points).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from ..io.atomic import atomic_path
from .aggregate import figures
from .compute import IDENTITY_KINDS, STRUCTURE_CLASSES


def _fmt(value: float, kind: str) -> str:
    if kind == "share":
        return f"{100 * value:.1f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _fmt_delta(value: float, kind: str) -> str:
    if kind == "share":
        return f"{100 * value:+.1f} pp"
    return f"{value:+,.2f}" if not float(value).is_integer() else f"{int(value):+,}"


def _rows(doc: dict) -> tuple[list[str], list[list[str]]]:
    profiles = doc["profiles"]
    header = ["figure", *[_short(p["name"]) for p in profiles]]
    per = [{k: (v, kind) for k, _, v, kind in figures(p)} for p in profiles]
    labels = [(k, label) for k, label, _, _ in figures(profiles[0])]
    if len(profiles) == 2:
        header.append("Δ")
    rows = []
    for key, label in labels:
        row = [label] + [_fmt(*fig[key]) if key in fig else "–" for fig in per]
        if len(profiles) == 2:
            delta = doc.get("diff", {}).get(key)
            row.append("–" if delta is None else _fmt_delta(delta, per[0][key][1]))
        rows.append(row)
    return header, rows


def rich_table(doc: dict) -> Table:
    header, rows = _rows(doc)
    table = Table(title="Factor profile", show_lines=False)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        if row[0].startswith(("structure: plain", "identity: ai", "role-play: system", "refusing", "turns /", "prompt chars (mean)")):
            table.add_section()
        table.add_row(*row)
    return table


def to_markdown(doc: dict, *, images: dict[str, str] | None = None) -> str:
    """A markdown table (and image links when `images` maps a plot name to a path)."""
    header, rows = _rows(doc)
    lines = [
        "| " + " | ".join(_escape(h) for h in header) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |",
    ]
    lines += ["| " + " | ".join(_escape(c) for c in row) + " |" for row in rows]
    notes = [
        "",
        "Structure shares are over assistant turns; identity and refusal shares over assistant turns; "
        "role-play, system prompt and duplicate shares over conversations.",
    ]
    for name, path in (images or {}).items():
        notes += ["", f"![{name}]({path})"]
    return "\n".join(lines + notes) + "\n"


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|")


# -- plots ----------------------------------------------------------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _grouped_bars(ax: Any, categories: list[str], series: list[tuple[str, list[float]]], ylabel: str) -> None:
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(categories))]
        ax.bar(xs, values, width=width, label=label)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(categories, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(fontsize="small")


def _short(name: str) -> str:
    """A column label: the file or directory name, not the whole local path."""
    return Path(name).name or name


FACTOR_KEYS = [
    *(f"identity.{k}" for k in (*IDENTITY_KINDS, "any")),
    "roleplay.system",
    "roleplay.user",
    "roleplay.any",
    "refusal",
    "system_prompt",
    "duplicates",
]


def _factor_values(profile: dict) -> list[float]:
    figs = {k: v for k, _, v, _ in figures(profile)}
    return [100 * figs[k] for k in FACTOR_KEYS]


def plot_structure(ax: Any, profiles: list[dict]) -> None:
    series = [(_short(p["name"]), [100 * p["structure"]["shares"][c] for c in STRUCTURE_CLASSES]) for p in profiles]
    _grouped_bars(ax, list(STRUCTURE_CLASSES), series, "% of assistant turns")
    ax.set_title("answer structure")


def plot_factors(ax: Any, profiles: list[dict]) -> None:
    series = [(_short(p["name"]), _factor_values(p)) for p in profiles]
    _grouped_bars(ax, FACTOR_KEYS, series, "% (turns or conversations)")
    ax.set_title("factor rates")


PLOT_FILES = ("structure.png", "factors.png", "lengths.png")


def _save(plt: Any, fig: Any, path: Path, overwrite: bool) -> Path:
    """savefig, atomically (a temporary file beside `path`, renamed over it when complete);
    the figure is closed however that ends."""
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def write_plots(doc: dict, out_dir: str | Path, overwrite: bool = True) -> dict[str, Path]:
    """structure.png, factors.png and lengths.png (PLOT_FILES); profiles side by side when two.

    Only these files are written in `out_dir`; nothing else there is touched. An existing
    one is replaced only with `overwrite` (ConfigError otherwise)."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    profiles = doc["profiles"]
    written: dict[str, Path] = {}

    for name, draw in (("structure", plot_structure), ("factors", plot_factors)):
        fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
        draw(ax, profiles)
        written[name] = _save(plt, fig, out / f"{name}.png", overwrite)

    keys = [k for k in profiles[0]["lengths"] if all(k in p["lengths"] for p in profiles)]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.6), layout="constrained", squeeze=False)
    for ax, key in zip(axes[0], keys):
        hist = profiles[0]["lengths"][key]["histogram"]
        cats = [f"{b['lo']}+" if b["hi"] is None else f"<{b['hi']}" for b in hist]
        series = []
        for p in profiles:
            counts = [b["count"] for b in p["lengths"][key]["histogram"]]
            total = sum(counts) or 1
            series.append((_short(p["name"]), [100 * c / total for c in counts]))
        _grouped_bars(ax, cats, series, "% of turns")
        ax.set_title(key.replace("_", " "))
    written["lengths"] = _save(plt, fig, out / "lengths.png", overwrite)
    return written


def write_overview_plot(profiles: list[dict], path: str | Path) -> Path:
    """One image with structure and factor rates (used by the dataset card)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    plot_structure(axes[0], profiles)
    plot_factors(axes[1], profiles)
    return _save(plt, fig, Path(path), overwrite=True)
