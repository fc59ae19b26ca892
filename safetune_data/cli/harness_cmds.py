"""`safetune harness run | report | rejudge | config | tiny`: fine-tune on variants, evaluate, compare."""
from __future__ import annotations

from functools import partial
from importlib import resources
from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError, require_extra
from ..harness.config import precheck_model
from ..harness.hooks import Hooks
from ..harness.report import write_report
from ..harness.settings import default_config_text
from ..harness.tiny import write_tiny
from .console import console, counting
from .judge_cmd import judge_options

harness_app = typer.Typer(
    help="Fine-tune a model on each data variant (LoRA), generate on safety benchmarks, judge, compare.",
    no_args_is_help=True,
)


CONSOLE_HOOKS = Hooks(message=console.print, task=partial(counting, transient=True))


def run_command(
    config: Path = typer.Argument(..., help="Harness config (YAML); see `safetune harness config`."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: the config's output_dir): a new or empty folder, or an earlier harness run's to resume it."),
    device: Optional[str] = typer.Option(None, "--device", help="Override the config's device: auto | cpu | cuda."),
    fresh: bool = typer.Option(False, "--fresh", help="Recompute every row, ignoring finished ones."),
) -> None:
    """Evaluate the base model, then fine-tune + evaluate each variant; resumable.

    Everything in the config (variant dirs, benchmarks, judges) is checked before any
    training. A rerun skips rows already finished with the same settings.

    Examples:

      safetune harness config > harness.yaml && safetune harness run harness.yaml

      safetune harness run harness.yaml --device cuda --out results/smollm2
    """
    precheck_model(config)  # before torch is imported: an unloadable Hub id fails in a second
    require_extra("harness", "torch", "transformers", "peft")
    from ..harness.runner import run  # local: the runner loads spaCy (judges) and needs the extra checked above

    overrides = {"device": device} if device else None
    doc = run(config, out, resume=not fresh, overrides=overrides, hooks=CONSOLE_HOOKS)
    console.print(f"{len(doc['rows'])} row(s) in {doc['output_dir']}: results.json, results.md, results.png, generations/")


def report_command(
    run_dir: Path = typer.Argument(..., help="Output directory of `safetune harness run` (holds results.json)."),
) -> None:
    """Re-render the markdown table and the bar chart from results.json.

    Example:

      safetune harness report harness_results/
    """
    md, png = write_report(run_dir)
    console.print(md.read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"wrote {md} and {png}")


def rejudge_command(
    run_dir: Path = typer.Argument(..., help="Output directory of `safetune harness run` (results.json + generations/)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where the re-judged results go (default: RUN_DIR/rejudged); never the run directory itself.", show_default=False),
    judge: list[str] = typer.Option([], "--judge", "-j", help="Judge to run (repeatable; the first is primary). Default: the run's own judges, with their options."),
    option: list[str] = typer.Option([], "--option", help="Judge option JUDGE.KEY=VALUE (repeatable), e.g. llm.url=http://127.0.0.1:8000/v1"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out when it is an earlier rejudge output."),
) -> None:
    """Judge a finished run's stored answers again (changed rules, another judge), without a model.

    Reads RUN_DIR/generations/, runs the judges, recomputes every row's metrics and the factor
    effects as `harness run` does, and writes results.json / results.md / results.png /
    generations/ to --out, plus comparison.md: each rate and factor effect as the run
    recorded it and re-judged. The run directory is not modified.

    Examples:

      safetune harness rejudge harness_results/

      safetune harness rejudge harness_results/ --judge classifier --option classifier.model=/models/Llama-Guard-3-1B --out harness_results_guard
    """
    from ..harness.rejudge import rejudge  # local: the judges load spaCy

    per_judge: dict[str, dict] = {}
    for key, value in judge_options(option, "option").items():
        name, dot, opt = key.partition(".")
        if not dot or not opt:
            raise ConfigError(f"--option '{key}' needs the form JUDGE.KEY=VALUE", field="option",
                              hint="e.g. --option llm.url=http://127.0.0.1:8000/v1")
        per_judge.setdefault(name, {})[opt] = value
    target = out if out is not None else run_dir / "rejudged"
    doc = rejudge(run_dir, target, judges=judge or None, options=per_judge, overwrite=overwrite, hooks=CONSOLE_HOOKS)
    console.print((target / "comparison.md").read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True)
    console.print(f"{len(doc['rows'])} row(s) re-judged with {', '.join(j['name'] for j in doc['judges'])} -> {target}: "
                  "results.json, results.md, results.png, comparison.md, generations/", highlight=False, soft_wrap=True)


def config_command(
    tiny: bool = typer.Option(False, "--tiny", help="Print instead a config that runs offline in about a minute on a CPU: "
                              "a tiny random model and two variants of the bundled sample, built by `harness run` "
                              "under out/harness_tiny/ when missing; benchmarks from the repository's data/."),
) -> None:
    """Print a fully commented config to start from (every key with its default).

    The default config names a Hub model (SmolLM2-135M-Instruct: needs the network once, or
    the Hugging Face cache) and the variants of `safetune run transforms/paper_factorial.yaml
    --out out/factorial`. With --tiny the config needs neither: write it at the repository
    root and run it right away.

    Examples:

      safetune harness config > harness.yaml

      safetune harness config --tiny > harness.yaml && safetune harness run harness.yaml
    """
    text = (resources.files("safetune_data.harness").joinpath("tiny_config.yaml").read_text(encoding="utf-8")
            if tiny else default_config_text())
    typer.echo(text, nl=False)


def tiny_command(
    out: Path = typer.Argument(..., help="Directory to write the tiny model to (new or empty)."),
    seed: int = typer.Option(0, "--seed", help="Weight initialisation seed."),
) -> None:
    """Build a tiny random 2-layer Llama chat model (for smoke checks; its answers are gibberish).

    Offline, in a second or two. The model is built in a temporary folder beside OUT and
    renamed into place when complete, so a failed build leaves nothing. A config that builds
    it by itself: `safetune harness config --tiny`.

    Example:

      safetune harness tiny /tmp/tiny-llama && sed -i 's#path: .*Instruct#path: /tmp/tiny-llama#' harness.yaml
    """
    require_extra("harness", "torch", "transformers", "peft")
    write_tiny(out, "chat", seed=seed)
    console.print(f"wrote a tiny chat model to {out}")


def register(app: typer.Typer) -> None:
    harness_app.command("run")(run_command)
    harness_app.command("report")(report_command)
    harness_app.command("rejudge")(rejudge_command)
    harness_app.command("config")(config_command)
    harness_app.command("tiny")(tiny_command)
    app.add_typer(harness_app, name="harness")
