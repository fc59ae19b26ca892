"""Markdown table and bar chart of a harness run, rendered from results.json alone.

Kept apart from the runner so `safetune harness report DIR` can re-render after a run
(or after editing which rows to show) without touching a model.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io.sources import read_json
from .effects import factor_effects, render_effects


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _rate_cell(r: dict | None) -> str:
    if not r or r.get("rate") is None:
        return "–"
    return f"{_pct(r['rate'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}] (n={r['n']})"


def _delta(r: dict | None, ref: dict | None) -> str:
    if not r or not ref or r.get("rate") is None or ref.get("rate") is None:
        return "–"
    return f"{100 * (r['rate'] - ref['rate']):+.1f}"


def _bench_refusal(m: dict) -> dict:
    """Refusal rate over all of a benchmark's judged items (expected refuse and comply alike)."""
    k = m["harmful_refusal"]["k"] + m["over_refusal"]["k"]
    n = m["harmful_refusal"]["n"] + m["over_refusal"]["n"]
    return {"rate": k / n if n else None, "k": k, "n": n}


def prompt_source(system_prompt: dict) -> str:
    """Where a row's generation-time system prompt came from: given, the template's default, or none."""
    if system_prompt.get("given") is not None:
        return "given"
    return "template default" if system_prompt.get("template_default") is not None else "none"


def render_table(results: dict[str, Any]) -> str:
    """One line per row: harmful compliance and over-refusal with 95% intervals and deltas against the reference."""
    judge = results["primary_judge"]
    rows = results["rows"]
    ref = next((r for r in rows if r["name"] == results.get("reference")), None)
    ref_sum = ref["summary"].get(judge) if ref else None
    bench_keys = [b["key"] for b in results["benchmarks"]]
    lines = [
        f"Judge: `{judge}`. Rates in %, 95% Wilson intervals; Δ against `{results.get('reference')}`.",
        "",
        "| row | kind | train rows | val loss | harmful compliance (ASR) | Δ | over-refusal | Δ | "
        + " | ".join(f"{k} refused" for k in bench_keys) + " |",
        "|" + "---|" * (8 + len(bench_keys)),
    ]
    for r in rows:
        s = r["summary"].get(judge, {})
        ft = r.get("finetune") or {}
        val = ft.get("val_loss_after")
        cells = [
            r["name"], r["kind"], str(ft.get("train_rows", "–")),
            "–" if val is None else f"{val:.3f}",
            _rate_cell(s.get("asr")), _delta(s.get("asr"), (ref_sum or {}).get("asr")),
            _rate_cell(s.get("over_refusal")), _delta(s.get("over_refusal"), (ref_sum or {}).get("over_refusal")),
        ]
        for k in bench_keys:
            m = r["benchmarks"].get(k, {}).get("judges", {}).get(judge)
            cells.append(_pct(_bench_refusal(m)["rate"]) if m else "–")
        lines.append("| " + " | ".join(cells) + " |")
    lines += _outcome_table(rows, judge)
    unsure = [(r["name"], r["summary"].get(judge, {})) for r in rows if "uncertain" in r["summary"].get(judge, {})]
    if unsure:
        lines += ["", f"Uncertain verdicts of `{judge}` (score near its cut-off; counted as its best guess, not "
                  "escalated to a second judge): " + ", ".join(f"`{n}` {s['uncertain']}/{s['n']}" for n, s in unsure)]
    judges = [j["name"] for j in results["judges"]]
    if len(judges) > 1:
        lines += ["", "Harmful compliance by judge (%):", "",
                  "| row | " + " | ".join(judges) + " |", "|" + "---|" * (1 + len(judges))]
        for r in rows:
            lines.append("| " + r["name"] + " | " + " | ".join(
                _pct((r["summary"].get(j, {}).get("asr") or {}).get("rate")) for j in judges) + " |")
    lines += ["", "System prompt used at generation (given, else the one the chat template inserts), and in "
              "training (rows with their own system turn / rows given the template's default):", ""]
    for r in rows:
        sp = r.get("system_prompt") or {}
        source = prompt_source(sp)
        trained = ((r.get("finetune") or {}).get("system_prompts")) or None
        lines.append(f"- `{r['name']}`: {source}" + (f": \"{sp.get('effective')}\"" if sp.get("effective") else "")
                     + (f"; trained with own {trained['own']} / template default {trained['template_default']}"
                        f" of {trained['rows']} rows" if trained else ""))
    lines += ["", "Time per row (s):", "", "| row | " + " | ".join(("load", "finetune", "generate", "judge", "total")) + " |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        t = r.get("timings", {})
        lines.append("| " + r["name"] + " | " + " | ".join(
            f"{t[k]:.1f}" if k in t else "–" for k in ("load_s", "finetune_s", "generate_s", "judge_s", "total_s")) + " |")
    return "\n".join(lines) + "\n"


def _outcome_table(rows: list[dict], judge: str) -> list[str]:
    """Refused, complied and neither side by side: a variant can make the model comply or break it."""
    if not any("harmful_compliance" in r["summary"].get(judge, {}) for r in rows):
        return []
    lines = ["", "Outcomes (%, 95% Wilson intervals). Harmful prompts: refused, complied (ASR counts only these), "
             "neither (no refusal and no attempt: degenerate loops, self-description only, off-topic, empty). "
             "Benign prompts: neither is a utility failure next to over-refusal. Fluency: mean distinct-2-gram "
             "ratio and repetition share of all responses.", "",
             "| row | harmful refused | harmful complied | harmful neither | degenerate | identity only | off-topic "
             "| empty | benign neither | distinct-2 | repetition |", "|" + "---|" * 11]
    for r in rows:
        s = r["summary"].get(judge, {})
        if "harmful_compliance" not in s:
            continue
        why = s.get("harmful_neither_by_reason", {})
        flu = s.get("fluency", {})
        mean = lambda m: "–" if not m or m.get("mean") is None else f"{m['mean']:.2f}"  # noqa: E731
        lines.append("| " + " | ".join([
            r["name"], _rate_cell(s.get("harmful_refusal")), _rate_cell(s.get("harmful_compliance")),
            _rate_cell(s.get("harmful_neither")),
            *(_pct((why.get(k) or {}).get("rate")) for k in ("degenerate", "identity_only", "off_topic", "empty")),
            _rate_cell(s.get("benign_neither")), mean(flu.get("distinct_2")), mean(flu.get("repetition_share")),
        ]) + " |")
    return lines


def render_chart(results: dict[str, Any], path: str | Path) -> Path:
    """Grouped bars per row: harmful compliance and over-refusal, with 95% interval whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    judge = results["primary_judge"]
    rows = results["rows"]
    names = [r["name"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.6), dpi=120)
    three_way = any("harmful_compliance" in r["summary"].get(judge, {}) for r in rows)
    metrics = ((("harmful_compliance", "harmful complied"), ("harmful_neither", "harmful neither"),
                ("over_refusal", "over-refusal")) if three_way
               else (("asr", "harmful compliance"), ("over_refusal", "over-refusal")))
    width = 0.8 / len(metrics)
    for j, (metric, label) in enumerate(metrics):
        vals, lo, hi = [], [], []
        for r in rows:
            m = r["summary"].get(judge, {}).get(metric) or {}
            v = m.get("rate")
            vals.append(v if v is not None else 0.0)
            lo.append(v - m["ci_low"] if v is not None else 0.0)
            hi.append(m["ci_high"] - v if v is not None else 0.0)
        xs = [i + (j - (len(metrics) - 1) / 2) * width for i in range(len(rows))]
        ax.bar(xs, vals, width, yerr=[lo, hi], capsize=3, label=label)
    ax.set_xticks(range(len(rows)), names, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate")
    ax.set_title(f"judge: {judge} (95% intervals)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def write_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Re-render results.md (with factor effects for a factorial run) and results.png from run_dir."""
    run_dir = Path(run_dir)
    src = run_dir / "results.json"
    if not src.is_file():
        raise InputError("no results.json here; is this the output directory of `safetune harness run`?",
                         file=str(run_dir))
    results = read_json(src)
    effects = factor_effects(results, run_dir / "generations")
    if effects:  # a factorial run: what each factor did, besides the per-row table
        (run_dir / "factor_effects.json").write_text(json.dumps(effects, indent=2) + "\n", encoding="utf-8")
    md = run_dir / "results.md"
    md.write_text("# Harness results\n\n" + render_table(results)
                  + ("\n" + render_effects(effects, results["primary_judge"]) if effects else ""), encoding="utf-8")
    png = render_chart(results, run_dir / "results.png")
    return md, png
