"""`safetune risk`: score datasets for their likely safety cost before any fine-tune."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError, require_extra
from ..io.writer import check_output_dir
from ..options import split_pairs, yaml_value
from .console import console, err_console, progress, task_hook

SCORERS = ("representation", "gradient", "self_inf_n", "style_distance", "probe")  # the order of `--help`

HELP = """Score datasets (or every variant of a run) for how much fine-tuning an aligned model on them is likely to erode its safety, before any training.

Scorers (all by default; choose with --scorer, repeatable):

representation: He et al. 2024: the row's final-layer state, nearest harmful-compliance anchors minus nearest refusal anchors.

gradient: He et al. 2024: the row's LoRA loss gradient against the anchors' mean gradients (compliance minus refusal).

self_inf_n: Guan et al. 2025: log(|grad|^2 + 1) + log(answer tokens + 1), no anchors (shares the gradient pass).

style_distance: factor-profile distance (structure, identity, persona, length) between each answer and the model's own answer to the same prompt, plus the answer's loss.

probe: a short LoRA fine-tune on a sample, then the drop in log-probability of the model's own refusals to held-aside harmful prompts (dataset level only).

Writes OUT/<dataset>/ (the records with a risk_<scorer> column per per-row scorer, for select.risk), OUT/summary.json and OUT/summary.md. With --results (a harness run), each scorer's Spearman correlation with the measured metric. Scores are cached per model and row (--cache), so an interrupted run resumes.

Example: safetune risk --model runs/aligned/merged runs/study --out risk/ --scorer representation --scorer probe

Example: safetune risk -m aligned/ runs/study -o risk/ --results harness_out/ --param probe.steps=32
"""


def risk_command(
    inputs: list[Path] = typer.Argument(..., help="Dataset directories, or run directories (all their variants).", show_default=False),
    model: str = typer.Option(..., "--model", "-m", help="The aligned chat model the fine-tunes would start from (a local directory).", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (refused if it exists, unless --overwrite).", show_default=False),
    scorer: list[str] = typer.Option(list(SCORERS), "--scorer", "-s", help="Scorer to run (repeatable)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Scorer parameter SCORER.KEY=VALUE (repeatable), e.g. representation.k=10."),
    anchors: Optional[Path] = typer.Option(None, "--anchors", help="Anchor file (JSON/JSONL/CSV with prompt, compliance, refusal); default: the shipped AdvBench training-half set.", show_default=False),
    probe_prompts: Optional[Path] = typer.Option(None, "--probe-prompts", help="Harmful prompts for the probe scorer (field prompt); default: the shipped set.", show_default=False),
    results: Optional[Path] = typer.Option(None, "--results", help="A `safetune harness run` output (or its results.json): correlate each scorer with the measured metric.", show_default=False),
    metric: str = typer.Option("harmful_refusal_rate", "--metric", help="Measured metric to correlate with (higher = safer)."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Score cache directory (default: $XDG_CACHE_HOME/safetune/risk).", show_default=False),
    no_cache: bool = typer.Option(False, "--no-cache", help="Keep scores in memory only."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Score only the first N rows of each dataset.", show_default=False),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1),
    max_length: int = typer.Option(512, "--max-length", min=16, help="Tokens per conversation (longer ones are cut, as in the fine-tune)."),
    device: str = typer.Option("auto", "--device"),
    dtype: str = typer.Option("auto", "--dtype"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output directory if safetune wrote it."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Run custom model code (off by default)."),
) -> None:
    require_extra("harness", "torch", "transformers", "peft")
    from ..risk import make_scorers, score_risk
    from ..risk.cache import default_cache_dir

    params: dict[str, dict] = {}
    for key, value in split_pairs(param, "--param", need_value=True):
        name, dot, sub = key.partition(".")
        if not dot or not sub:
            raise ConfigError(f"expected SCORER.KEY=VALUE, got {key}={value}", field="--param")
        params.setdefault(name, {})[sub] = yaml_value(value, scalar=True)
    scorers = make_scorers(scorer, params)  # bad names and values before the model loads
    check_output_dir(out, overwrite)
    cache_dir = None if no_cache else (cache or default_cache_dir())
    with progress(transient=True) as bar:
        doc = score_risk(model, inputs, scorers, out, anchors=anchors, probe=probe_prompts, cache_dir=cache_dir,
                         batch_size=batch_size, max_length=max_length, limit=limit, device=device, dtype=dtype,
                         trust_remote_code=trust_remote_code, results=results, metric=metric, overwrite=overwrite,
                         command=["safetune", *sys.argv[1:]], start=task_hook(bar, "scoring"))
    from rich.table import Table

    table = Table(title=f"risk per dataset ({model})")
    table.add_column("dataset", overflow="fold")
    table.add_column("rows", justify="right")
    for s in doc["scorers"]:
        table.add_column(s, justify="right")
    if "correlation" in doc:
        table.add_column(metric, justify="right")
    for d in doc["datasets"]:
        cells = [d["name"], str(d["rows"]), *(f"{d['scores'][s]['value']:.4f}" for s in doc["scorers"])]
        if "correlation" in doc:
            cells.append("—" if d["measured"] is None else f"{d['measured']:.3f}")
        table.add_row(*cells)
    console.print(table)
    if "correlation" in doc:
        c = doc["correlation"]
        for s, v in c["scorers"].items():
            rho = "undefined" if v["spearman"] is None else f"{v['spearman']:.3f}"
            lo, hi = v["ci95"]
            ci = "" if lo is None else f" [{lo:.2f}, {hi:.2f}]"
            console.print(f"Spearman({s}, {metric}) over {c['datasets_matched']} datasets: {rho}{ci}")
        if c["datasets_unmatched"]:
            err_console.print(f"no '{metric}' in the results for: {', '.join(c['datasets_unmatched'])}")
    err_console.print(f"wrote {out}/summary.json, summary.md and {len(doc['datasets'])} scored dataset(s)")


def register(app: typer.Typer) -> None:
    app.command("risk", help=HELP)(risk_command)
