"""`safetune rm eval | score | compare`: audit reward models before trusting them with data."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import ConfigError, require_extra
from ..harness.models import check_model_source
from ..harness.tiny import write_tiny
from ..io.atomic import check_file_target, write_json_atomic
from ..io.writer import OutputDir, check_output_dir
from ..rm.dataset import compare_variants, read_results, score_dataset
from ..rm.evaluate import ModelSpec, evaluate
from ..rm.pairs import load_pairs
from ..rm.report import write_eval
from ..rm.score import RM_HINT, load_scorer
from .console import console, err_console, progress, task_hook

rm_app = typer.Typer(
    name="rm",
    help="Reward-model safety audit: accuracy on safety preference pairs, agreement between "
    "reward models, rewards of dataset variants.\n\nExample: safetune rm eval --model ./my-rm "
    "--pairs hh_rlhf_harmless_base_test.jsonl.gz --out audit/",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

_MODEL_HELP = "Reward model: local directory (or Hub id when online) of a one-logit sequence classifier."


def _model_specs(models: list[str], refs: list[str] | None) -> list[Any]:
    refs = refs or []
    if refs and len(refs) != len(models):
        raise ConfigError(f"{len(refs)} --ref-model for {len(models)} --model", field="--ref-model",
                          hint="give one --ref-model per --model, in order ('-' for a classifier reward model)")
    specs = [ModelSpec(m, (refs[i] if refs and refs[i] not in ("-", "") else None)) for i, m in enumerate(models)]
    names = [s.name for s in specs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ConfigError(f"model '{dup}' given twice", field="--model")
    return specs


def _check_models(*models: str | None) -> None:
    """Every model names something loadable here (before the pairs are read or torch imported):
    a Hub id that is not cached fails at once when the Hub is off or unreachable."""
    for m in models:
        if m and m != "-":
            check_model_source(m, field="--model", hint=RM_HINT)


def eval_command(
    model: list[str] = typer.Option(..., "--model", "-m", help=_MODEL_HELP + " Repeat to compare models.", show_default=False),
    pairs: list[Path] = typer.Option(..., "--pairs", "-p", help="Preference pairs file (repeatable; labelled completions of several models are paired across files).", show_default=False),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="Pairs layout: hh | sharegpt | rewardbench | labelled (guessed from the file when left out)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write eval.json, eval.md, pair_scores.jsonl and PNG plots here."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out directory, if it is empty or safetune wrote it (a folder with other files is refused)."),
    ref_model: Optional[list[str]] = typer.Option(None, "--ref-model", help="Reference model for DPO implicit rewards: --model is then the DPO policy. One per --model ('-' for none)."),
    beta: float = typer.Option(0.1, "--beta", help="β of the DPO implicit reward β·(log p_policy − log p_ref)."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Conversations per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto (GPU when present), cpu, cuda, cuda:1, ..."),
    dtype: str = typer.Option("auto", "--dtype", help="auto (bf16 on GPU, fp32 on CPU), fp32 | float32, bf16 | bfloat16, fp16 | float16."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate only the first N pairs."),
    no_sort: bool = typer.Option(False, "--no-sort", help="Do not sort by length before batching (more padding; for measuring)."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Run custom model code from the model's repository (off by default)."),
) -> None:
    """Audit reward models on preference pairs: accuracy per subset, margins, agreement.

    Per model: pairwise accuracy overall and per subset with 95% Wilson intervals (ties
    counted apart), and the margin distribution. With several models: agreement, Kendall's
    tau-b of margins, and majority-vote accuracy.

    Example:

        safetune rm eval --model ./rm-a --model ./rm-b --pairs hh_rlhf_harmless_base_test.jsonl.gz --out audit/

        safetune rm eval --model ./dpo-policy --ref-model ./sft-ref --pairs xstest_gpt4.csv --pairs xstest_llama2.csv
    """
    specs = _model_specs(model, ref_model)
    _check_models(*model, *(ref_model or []))
    pair_set = load_pairs([str(p) for p in pairs], format=format, limit=limit)
    if pair_set.skipped:
        err_console.print(f"pairs: {len(pair_set.pairs)} from {pair_set.rows} rows; skipped {dict(pair_set.skipped)}")
    if out is not None:
        check_output_dir(out, overwrite)  # before any scoring
    with progress(transient=True) as bar:
        result, rows = evaluate(pair_set, specs, batch_size=batch_size, device=device, dtype=dtype,
                                trust_remote_code=trust_remote_code, beta=beta, sort_by_length=not no_sort,
                                limit=limit, progress=task_hook(bar, "scoring"))
    _print_eval(result)
    if out is not None:
        with OutputDir(out, overwrite=overwrite) as target:
            write_eval(result, target.path, rows)
            target.commit()
        err_console.print(f"audit written to {out}/ (eval.json, eval.md, pair_scores.jsonl, plots)")


def _print_eval(result: dict[str, Any]) -> None:
    from rich.table import Column, Table

    subsets = list(result["pairs"]["subsets"])
    table = Table(Column("model", overflow="fold"), "overall", *subsets,
                  title=f"reward-model accuracy on {result['pairs']['pairs']} pairs ({result['pairs']['format']})")
    rows = list(result["models"].items())
    if "majority_vote" in result:
        rows.append(("majority vote", result["majority_vote"]))
    for name, m in rows:
        def cell(a: dict | None) -> str:
            if not a or a["accuracy"] is None:
                return "—"
            return f"{100 * a['accuracy']:.1f}% [{100 * a['ci95'][0]:.0f}–{100 * a['ci95'][1]:.0f}]" + (
                f" ({a['ties']} ties)" if a["ties"] else "")
        table.add_row(name, cell(m["overall"]), *[cell(m["subsets"].get(s)) for s in subsets])
    console.print(table)
    if "agreement" in result:
        ag = result["agreement"]
        t2 = Table("", *(Path(n).name or n for n in ag["models"]), title="agreement: same side % / Kendall tau-b of margins")
        for i, n in enumerate(ag["models"]):
            t2.add_row(Path(n).name or n, *[
                f"{100 * ag['same_side'][i][j]:.1f}% / {'—' if ag['kendall_tau_b'][i][j] is None else format(ag['kendall_tau_b'][i][j], '.2f')}"
                for j in range(len(ag["models"]))])
        console.print(t2)


def score_command(
    dataset: Path = typer.Argument(..., help="Dataset directory written by safetune (Arrow shards + manifest).", show_default=False),
    model: str = typer.Option(..., "--model", "-m", help=_MODEL_HELP, show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Output dataset directory (refused if it exists, unless --overwrite).", show_default=False),
    column: str = typer.Option("reward", "--column", help="Name of the reward column to add."),
    ref_model: Optional[str] = typer.Option(None, "--ref-model", help="Reference model: --model is then a DPO policy and the reward is implicit."),
    beta: float = typer.Option(0.1, "--beta", help="β of the DPO implicit reward."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1),
    device: str = typer.Option("auto", "--device"),
    dtype: str = typer.Option("auto", "--dtype"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory, if it is empty or safetune wrote it (a folder with other files is refused)."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Run custom model code (off by default)."),
) -> None:
    """Add a reward column (one score per conversation) to a dataset.

    The manifest records the model and the reward statistics. Select rows by it with the
    `select.top_reward` recipe step.

    Example:

        safetune rm score out/markdown --model ./my-rm --out out/markdown-scored
    """
    check_output_dir(out, overwrite)  # before loading the model
    _check_models(model, ref_model)
    scorer = load_scorer(model, ref_model, device=device, dtype=dtype, trust_remote_code=trust_remote_code, beta=beta)
    with progress(transient=True) as bar:
        task = bar.add_task(f"scoring {dataset.name}", total=None)
        manifest = score_dataset(scorer, dataset, out, column=column, batch_size=batch_size, overwrite=overwrite,
                                 command=["safetune", *sys.argv[1:]], on_batch=lambda n: bar.advance(task, n))
    stats = manifest["reward"]["stats"]
    console.print(f"{stats['n']} rows scored: mean {stats.get('mean', float('nan')):.4f}, "
                  f"median {stats.get('q50', float('nan')):.4f}; padding share "
                  f"{manifest['reward']['scoring']['padding_share']:.3f} → {out}")


def compare_command(
    variants: list[Path] = typer.Argument(..., help="Variant dataset directories (e.g. the outputs of `safetune run`).", show_default=False),
    model: str = typer.Option(..., "--model", "-m", help=_MODEL_HELP, show_default=False),
    results: Optional[Path] = typer.Option(None, "--results", help="Output directory (or results.json) of `safetune harness run`: adds the rank correlation with measured safety."),
    metric: str = typer.Option("harmful_refusal_rate", "--metric", help="Safety metric in the harness results (higher = safer)."),
    ref_model: Optional[str] = typer.Option(None, "--ref-model", help="Reference model for DPO implicit rewards."),
    beta: float = typer.Option(0.1, "--beta"),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1),
    device: str = typer.Option("auto", "--device"),
    dtype: str = typer.Option("auto", "--dtype"),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples for the 95% intervals."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the comparison as JSON (an existing file needs --overwrite)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the --json file if it exists."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Run custom model code (off by default)."),
) -> None:
    """Mean reward per dataset variant, and its rank correlation with measured safety.

    Means come with 95% bootstrap intervals; with --results (a `safetune harness run`
    output) the Spearman correlation between the reward model's ranking of the variants and
    their measured safety is reported too.

    Example:

        safetune rm compare out/original out/markdown out/roleplay --model ./my-rm --results runs/study/
    """
    from rich.table import Table

    if json_out is not None:
        check_file_target(json_out, overwrite)  # before any scoring
    res = read_results(results) if results is not None else None
    _check_models(model, ref_model)
    scorer = load_scorer(model, ref_model, device=device, dtype=dtype, trust_remote_code=trust_remote_code, beta=beta)
    with progress(transient=True) as bar:
        doc = compare_variants(scorer, variants, batch_size=batch_size, n_resamples=resamples, seed=seed,
                               results=res, metric=metric, on_variant=task_hook(bar, "scoring"))
    table = Table(title=f"mean reward per variant ({scorer.name})")
    for col in ("rank", "variant", "rows", "mean reward", "95% CI") + ((metric,) if res is not None else ()):
        table.add_column(col, overflow="fold" if col == "variant" else "ellipsis")  # names are never cut
    for v in sorted(doc["variants"], key=lambda v: v["rank"]):
        extra = () if res is None else ("—" if v[metric] is None else f"{v[metric]:.3f}",)
        table.add_row(str(v["rank"]), v["name"], str(v["rows"]), f"{v['mean_reward']:.4f}",
                      f"[{v['ci95'][0]:.4f}, {v['ci95'][1]:.4f}]", *extra)
    console.print(table)
    if "safety" in doc:
        s = doc["safety"]
        rho = "undefined (fewer than 2 matched variants, or no spread)" if s["spearman"] is None else f"{s['spearman']:.3f}"
        console.print(f"Spearman(mean reward, {metric}) over {s['variants_matched']} variants: {rho}")
        if s["variants_unmatched"]:
            err_console.print(f"no '{metric}' in the results for: {', '.join(s['variants_unmatched'])}")
    if json_out is not None:
        write_json_atomic(json_out, doc, overwrite=overwrite)
        err_console.print(f"comparison JSON: {json_out}")


def tiny_command(
    out: Path = typer.Argument(..., help="Directory to write the tiny reward model to (new or empty).", show_default=False),
    seed: int = typer.Option(0, "--seed", help="Weight initialisation seed (two seeds: two models that disagree)."),
) -> None:
    """Build a tiny random reward model (2-layer Llama, one logit, ChatML tokenizer), offline.

    Its weights are random, so its accuracy is near chance: it is there to run `rm eval`,
    `rm score` and `rm compare` end to end without a download, in seconds on a CPU. Built
    in a temporary folder beside OUT and renamed into place when complete.

    Example:

        safetune rm tiny rm_a && safetune rm tiny rm_b --seed 1

        safetune rm eval -m rm_a -m rm_b --pairs data/preferences/hh_rlhf_harmless_base_test.jsonl.gz --limit 50
    """
    require_extra("harness", "torch", "transformers", "tokenizers")
    write_tiny(out, "reward", seed=seed)
    console.print(f"wrote a tiny reward model to {out}")


def register(app: typer.Typer) -> None:
    rm_app.command("eval")(eval_command)
    rm_app.command("score")(score_command)
    rm_app.command("compare")(compare_command)
    rm_app.command("tiny")(tiny_command)
    app.add_typer(rm_app, name="rm")
